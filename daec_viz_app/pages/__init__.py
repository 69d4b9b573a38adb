"""The app's pages, one module per page (run by st.navigation as scripts)."""
