"""Score snapshots: published, immutable aggregates of a campaign that the API and files export."""
