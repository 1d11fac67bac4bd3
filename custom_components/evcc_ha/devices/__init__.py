"""Device models: simulated meters, chargers, vehicles and batteries, and the scenario runner."""
