"""The server runtime: the background jobs a leading worker runs, wired in one place."""
