"""Pure analytics: DataFrames in, DataFrames (or numbers) out; no I/O, no Streamlit."""
