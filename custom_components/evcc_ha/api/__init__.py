"""evcc's own API: the state document, REST routes (Home Assistant view and evcc port), /ws."""
