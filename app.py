"""Streamlit entry: ``streamlit run app.py`` (optionally ``-- --dataset FOLDER``)."""

from daec_viz_app.main import run

run()
