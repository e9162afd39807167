"""Live campaigns: records taken from a CRM endpoint polled with a cursor."""
