"""Small, fixed word pools for product names and search suffixes (people's names come from
Faker, once per run: see ``identities``).

Order matters: the pools are indexed by seeded draws, so changing them changes output.
"""

from __future__ import annotations

ADJECTIVES = (
    "Classic", "Everyday", "Premium", "Compact", "Deluxe", "Organic", "Vintage", "Modern",
    "Cozy", "Sleek", "Rugged", "Lightweight", "Handmade", "Eco", "Smart", "Essential", "Bold",
    "Soft", "Urban", "Nordic", "Studio", "Travel", "Pro", "Mini", "Grand", "Pure", "Wild",
)  # fmt: skip

NOUNS_BY_CATEGORY: dict[str, tuple[str, ...]] = {
    "apparel": ("T-Shirt", "Hoodie", "Jacket", "Sneakers", "Scarf", "Jeans", "Dress", "Beanie",
                "Socks", "Raincoat", "Sweater", "Cap"),
    "home": ("Mug", "Candle", "Throw Blanket", "Lamp", "Cutting Board", "Vase", "Pillow",
             "Towel Set", "Planter", "Clock", "Rug", "Teapot"),
    "electronics": ("Headphones", "Charger", "Speaker", "Keyboard", "Mouse", "Power Bank",
                    "Webcam", "Smartwatch", "Earbuds", "Monitor Stand", "USB Hub", "Tablet Case"),
    "beauty": ("Face Cream", "Lip Balm", "Shampoo", "Serum", "Perfume", "Hand Soap",
               "Sunscreen", "Face Mask", "Body Lotion", "Nail Polish"),
    "toys": ("Puzzle", "Building Blocks", "Plush Bear", "Board Game", "Kite", "Train Set",
             "Yo-Yo", "Card Game", "Robot Kit", "Doll House"),
    "sports": ("Yoga Mat", "Water Bottle", "Dumbbells", "Running Belt", "Jump Rope",
               "Tennis Balls", "Cycling Gloves", "Gym Bag"),
    "books": ("Cookbook", "Novel", "Notebook", "Planner", "Atlas", "Sketchbook", "Journal"),
    "grocery": ("Coffee Beans", "Green Tea", "Olive Oil", "Dark Chocolate", "Honey", "Granola",
                "Hot Sauce", "Pasta"),
}  # fmt: skip

GENERIC_NOUNS = ("Gift Box", "Kit", "Set", "Bundle", "Collection", "Pack", "Edition", "Item")

SEARCH_SUFFIXES = ("", "", "", " sale", " gift", " cheap", " best", " black", " large")
