"""The plans app's ops actions, one module per group: the app's ``ready()``
imports each, which registers its actions."""
