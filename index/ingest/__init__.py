"""Reading articles: files and web pages into Article records, cleaning, sentences."""
