"""The Streamlit dashboard: ``app.py`` signs people in and shows the pages their role allows."""
