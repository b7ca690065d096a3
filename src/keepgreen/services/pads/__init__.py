"""Shared pads: who may read and write one, its text from its stored CRDT updates, and the
rooms that relay edits between the browsers that have it open."""
