"""Conversation references chat platforms learn at installation, kept in the database.

The core side of the Teams adapter's `ConversationStore` protocol (structural: nothing here
imports a platform package), so references survive restarts and are shared by replicas.
"""
