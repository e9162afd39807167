"""Records of a campaign: their states and inventory, search, DNC, contact lists."""
