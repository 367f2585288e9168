"""The Streamlit edge: the only part of kamdash that imports streamlit.

Pages call into here for the shell (language, database check, sidebar filters), cached data and
shared widgets; everything below it is plain Python.
"""
