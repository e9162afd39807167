"""Users, roles and what each may see: the model is pure; storage and HTTP live elsewhere."""
