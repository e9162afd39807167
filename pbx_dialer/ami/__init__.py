"""Everything that speaks AMI. Only `client.py` imports panoramisk."""
