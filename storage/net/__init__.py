"""Reading from other people's servers safely, shared by the scraper, the marketplace client
and the IPFS clients (they may all import `storage`, not each other).

- `safe_json`: JSON with a bounded nesting depth, checked before the C parser recurses;
- `addresses`: which network addresses a connection may reach (SSRF guard);
- `bounded`: one HTTP exchange with a total deadline, a cap on the decoded body, and
  redirects that never carry credentials to another origin nor reach forbidden addresses.
"""
