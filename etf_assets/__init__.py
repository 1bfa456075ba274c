"""etf_assets: a Dagster warehouse of every ETF listed on the Korea Exchange."""
