"""The HTML pages and their forms: thin views over the domain."""
