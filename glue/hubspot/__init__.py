"""The glue's one seam to HubSpot: ``client`` (the SDK client, built once, with retries, rate
limiting, timeouts and error mapping), ``ratelimit`` (the shared token bucket), ``reads`` (search,
batch read, archived lists, notes), ``catalogue`` / ``setup`` / ``portal`` (what the portal must
hold, creating and checking it). Importing this package imports no SDK: import the module needed.
"""
