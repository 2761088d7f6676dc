"""Spiders: each turns responses from one kind of source into PostItems."""
