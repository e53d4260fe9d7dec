"""Export formats: profiles (which columns an export has) and dialect detection."""
