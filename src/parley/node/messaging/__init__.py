"""Messages between parties and their clocks: receipts, deadlines, checks, inquiries, hotline."""
