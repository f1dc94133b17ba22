"""Developer tools: demo data, benchmarks and their scratch databases.

Installed only by the dev and test settings (and a demo deployment's), never
by production: `seed-demo` and `bench` do not exist there. This app may import
the product apps; no product app may import it.
"""
