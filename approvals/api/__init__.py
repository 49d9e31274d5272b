"""HTTP glue shared by every domain's routes; imports no domain package."""
