"""Microsoft Teams reviewer platform: Adaptive Cards with Universal Actions over botbuilder-core.

Public surface: `build_teams_app` (app.py), `TeamsChannel` (outbound.py), `teams_router`
(routes.py), `ConversationStore` / `InMemoryConversationStore` (store.py), `render_card`
(adaptive_cards.py), `sign_action_ref` / `verify_action_ref` (signing.py). botbuilder is imported
only inside this package.
"""
