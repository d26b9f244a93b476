"""The project edge's router: serves prerendered pages and forwards server routes to the
project's function."""
