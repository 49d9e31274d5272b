"""The built-in reviewer web page: for teams without chat, and for the embedded default."""
