"""Read-only AWS lookups returning plain data. Every call goes through ``reader.AwsReader``."""
