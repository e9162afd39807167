"""pbx-dialer: an outbound call-campaign dialer that drives Asterisk over AMI."""

__version__ = "0.1.0"
