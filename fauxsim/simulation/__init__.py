"""The SimPy simulation of the shop: traffic, audience, sessions, orders."""
