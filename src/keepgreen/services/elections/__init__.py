"""Elections of team leads: definitions from config, ballots, results."""
