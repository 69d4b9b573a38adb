"""Holds the Streamlit main script that ``daec-viz app`` launches."""
