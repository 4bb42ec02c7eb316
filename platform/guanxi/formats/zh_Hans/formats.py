# Money in Chinese business documents is grouped by thousands with a comma (1,250,000.00), as
# our quotes, PDFs and exports already print it; Django's zh_Hans formats group nothing.
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
