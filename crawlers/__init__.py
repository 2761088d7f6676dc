"""Scrapy crawlers that turn public feeds and review pages into stored posts."""
