"""Small, fixed word pools for product names and search suffixes (people's names come from
Faker, once per run: see ``identities``).

Order matters: the pools are indexed by seeded draws, so changing them changes output.
"""

from __future__ import annotations

# Product names: "<style> <noun>", or "<style> <detail> <noun>" when that name is taken
# (a colour, a material, a size), with words that fit the category: a home product may be
# Handmade or Stoneware, never Rugged. Categories are matched by lower-case name, through
# CATEGORY_WORDS' aliases; any other category takes the generic words.

# Styles that fit any product: the fallback for a category without words of its own.
ADJECTIVES = (
    "Classic", "Everyday", "Premium", "Essential", "Deluxe", "Signature", "Original",
    "Compact", "Modern", "Basic",
)  # fmt: skip

GENERIC_NOUNS = ("Gift Set", "Starter Kit", "Bundle", "Collection", "Multipack", "Sampler")

GENERIC_DETAILS = ("Black", "White", "Grey", "Large", "Small", "Mini", "Plus", "Duo")

# category: (styles, details, nouns). The last word of a noun is what a search types.
CATEGORY_WORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "apparel": (
        ("Classic", "Relaxed", "Slim", "Oversized", "Lightweight", "Heavyweight", "Essential",
         "Vintage", "Everyday", "Organic"),
        ("Navy", "Black", "Heather Grey", "Olive", "Cream", "Charcoal", "Burgundy", "Sand",
         "Cotton", "Merino", "Linen", "Denim"),
        ("T-Shirt", "Hoodie", "Jacket", "Scarf", "Jeans", "Dress", "Beanie", "Socks",
         "Raincoat", "Sweater", "Cap", "Shorts", "Chinos", "Cardigan", "Polo Shirt"),
    ),
    "footwear": (
        ("Classic", "Waterproof", "Lightweight", "Everyday", "Leather", "Suede", "Cushioned",
         "Minimalist"),
        ("Black", "Brown", "White", "Grey", "Tan", "Navy", "Olive", "Wide"),
        ("Sneakers", "Hiking Boots", "Running Shoes", "Sandals", "Loafers", "Chelsea Boots",
         "Slippers", "Trail Shoes"),
    ),
    "home": (
        ("Handmade", "Modern", "Rustic", "Scandinavian", "Classic", "Minimalist", "Vintage",
         "Cozy", "Artisan"),
        ("Stoneware", "Ceramic", "Oak", "Walnut", "Linen", "Cotton", "Brass", "Glass",
         "Terracotta", "Marble", "Sage", "Ivory"),
        ("Mug", "Candle", "Throw Blanket", "Table Lamp", "Cutting Board", "Vase", "Cushion",
         "Towel Set", "Planter", "Wall Clock", "Rug", "Teapot", "Photo Frame", "Serving Bowl"),
    ),
    "kitchen": (
        ("Professional", "Classic", "Everyday", "Heavy-Duty", "Compact", "Artisan",
         "Essential"),
        ("Stainless Steel", "Black", "Walnut", "Copper", "Matte", "Cream"),
        ("Frying Pan", "Chef's Knife", "Saucepan", "Cutting Board", "Dutch Oven", "Mixing Bowls",
         "Utensil Set", "French Press", "Kettle", "Baking Dish", "Knife Block"),
    ),
    "living": (
        ("Modern", "Mid-Century", "Scandinavian", "Rustic", "Classic", "Minimalist", "Cozy"),
        ("Oak", "Walnut", "Velvet", "Linen", "Rattan", "Boucle", "Leather", "Teak"),
        ("Coffee Table", "Armchair", "Bookshelf", "Floor Cushion", "Side Table", "Sofa Throw",
         "TV Stand", "Footstool", "Wall Mirror"),
    ),
    "bedroom": (
        ("Luxury", "Soft", "Breathable", "Classic", "Hotel-Style", "Organic", "Cozy"),
        ("Cotton Sateen", "Linen", "Percale", "Bamboo", "Flannel", "Silk", "King", "Queen"),
        ("Duvet Cover", "Sheet Set", "Pillow", "Mattress Topper", "Bedspread", "Pillowcases",
         "Weighted Blanket"),
    ),
    "garden": (
        ("Heavy-Duty", "Weatherproof", "Classic", "Ergonomic", "Compact", "Rustic"),
        ("Galvanised", "Teak", "Terracotta", "Steel", "Acacia", "Copper", "Rattan"),
        ("Watering Can", "Garden Hose", "Pruning Shears", "Raised Bed", "Bird Feeder",
         "Planter", "Garden Bench", "Trowel", "Lanterns"),
    ),
    "lighting": (
        ("Modern", "Industrial", "Dimmable", "Minimalist", "Vintage", "Adjustable", "Smart"),
        ("Brass", "Black", "Opal Glass", "Rattan", "Concrete", "Chrome", "Linen"),
        ("Pendant Light", "Floor Lamp", "Desk Lamp", "Wall Sconce", "Table Lamp",
         "String Lights", "Ceiling Light", "Reading Lamp"),
    ),
    "electronics": (
        ("Portable", "Compact", "Pro", "Slim", "Essential", "Premium", "Travel", "Ultra"),
        ("Black", "White", "Graphite", "Silver", "Midnight", "Sand"),
        ("Headphones", "Charger", "Speaker", "Keyboard", "Mouse", "Power Bank", "Webcam",
         "Smartwatch", "Earbuds", "Monitor Stand", "USB Hub", "Tablet Case"),
    ),
    "phones": (
        ("Unlocked", "Refurbished", "5G", "Compact", "Rugged", "Pro", "Lite"),
        ("128GB", "256GB", "512GB", "Midnight", "Silver", "Graphite", "Blue"),
        ("Smartphone", "Flip Phone", "Phone", "Senior Phone"),
    ),
    "audio": (
        ("Wireless", "Studio", "Portable", "Hi-Fi", "Compact", "Premium", "Classic"),
        ("Black", "White", "Sand", "Midnight", "Bluetooth", "Active", "Mini"),
        ("Headphones", "Earbuds", "Speaker", "Soundbar", "Turntable", "Microphone",
         "Amplifier", "Radio"),
    ),
    "accessories": (
        ("Slim", "Premium", "Essential", "Travel", "Durable", "Compact"),
        ("Black", "Clear", "Navy", "Graphite", "Sand", "White"),
        ("Phone Case", "Charging Cable", "Wall Charger", "Screen Protector", "Car Mount",
         "Charging Pad", "Wallet Case", "Power Bank"),
    ),
    "smart_home": (
        ("Smart", "Wi-Fi", "Wireless", "Compact", "Essential", "Zigbee"),
        ("White", "Black", "2-Pack", "4-Pack", "HD", "Battery"),
        ("Plug", "Thermostat", "Doorbell", "Security Camera", "Light Bulb", "Motion Sensor",
         "Smart Speaker", "Door Lock", "Hub"),
    ),
    "beauty": (
        ("Hydrating", "Gentle", "Nourishing", "Brightening", "Fragrance-Free", "Organic",
         "Daily", "Repairing", "Soothing"),
        ("Rose", "Aloe", "Lavender", "Coconut", "Citrus", "Unscented"),
        ("Face Cream", "Lip Balm", "Shampoo", "Serum", "Eau de Parfum", "Hand Soap",
         "Sunscreen", "Face Mask", "Body Lotion", "Nail Polish", "Cleanser", "Conditioner"),
    ),
    "toys": (
        ("Wooden", "Classic", "Educational", "Magnetic", "Deluxe", "Junior", "Giant",
         "Musical"),
        ("Rainbow", "Animal", "Space", "Dinosaur", "Pirate", "Jungle"),
        ("Puzzle", "Building Blocks", "Plush Bear", "Board Game", "Kite", "Train Set",
         "Card Game", "Robot Kit", "Doll House", "Stacking Rings"),
    ),
    "sports": (
        ("Pro", "Training", "Compact", "Lightweight", "Essential", "Performance"),
        ("Black", "Blue", "Grey", "Pink", "Green", "Orange"),
        ("Yoga Mat", "Water Bottle", "Dumbbells", "Running Belt", "Jump Rope", "Tennis Balls",
         "Cycling Gloves", "Gym Bag", "Resistance Bands", "Foam Roller"),
    ),
    "tents": (
        ("Ultralight", "Freestanding", "Family", "Backpacking", "Four-Season", "Pop-Up",
         "Weatherproof"),
        ("1-Person", "2-Person", "3-Person", "4-Person", "6-Person", "Green", "Orange"),
        ("Tent", "Tarp Shelter", "Dome Tent", "Tunnel Tent", "Bivy", "Tent Footprint"),
    ),
    "sleeping": (
        ("Ultralight", "Insulated", "Compact", "Down", "Synthetic", "Three-Season"),
        ("-5°C", "0°C", "5°C", "Regular", "Long", "Wide", "Mummy"),
        ("Sleeping Bag", "Sleeping Pad", "Camp Pillow", "Sleeping Bag Liner", "Air Mattress",
         "Camp Quilt"),
    ),
    "packs": (
        ("Ultralight", "Trekking", "Daypack", "Waterproof", "Ventilated", "Roll-Top",
         "Travel"),
        ("20L", "30L", "45L", "60L", "Black", "Green", "Women's"),
        ("Backpack", "Hydration Pack", "Duffel Bag", "Hip Pack", "Dry Bag", "Rucksack"),
    ),
    "cooking": (
        ("Ultralight", "Compact", "Titanium", "Camp", "Collapsible", "Backpacking"),
        ("Orange", "Green", "Titanium", "Aluminium", "Stainless"),
        ("Stove", "Cook Set", "Spork", "Mug", "Water Filter", "Fuel Canister", "Kettle",
         "Camp Cup"),
    ),
    "books": (
        ("Illustrated", "Pocket", "Hardcover", "Paperback", "Collector's", "Deluxe"),
        ("Blue", "Black", "Green", "Red", "Linen", "Leather"),
        ("Cookbook", "Novel", "Notebook", "Planner", "Atlas", "Sketchbook", "Journal",
         "Field Guide"),
    ),
    "grocery": (
        ("Organic", "Artisan", "Fair-Trade", "Small-Batch", "Premium", "Italian"),
        ("250g", "500g", "1kg", "Family Size"),
        ("Coffee Beans", "Green Tea", "Olive Oil", "Dark Chocolate", "Honey", "Granola",
         "Hot Sauce", "Pasta", "Peanut Butter", "Maple Syrup"),
    ),
}  # fmt: skip

# The nouns alone, by category.
NOUNS_BY_CATEGORY = {category: nouns for category, (_, _, nouns) in CATEGORY_WORDS.items()}

# Other names of the categories above (lower case): what a scenario may call them.
CATEGORY_ALIASES = {
    "clothing": "apparel", "clothes": "apparel", "fashion": "apparel", "shoes": "footwear",
    "decor": "home", "homeware": "home", "furniture": "living", "bed": "bedroom",
    "outdoor": "garden", "lamps": "lighting", "tech": "electronics", "mobile": "phones",
    "smartphones": "phones", "cosmetics": "beauty", "skincare": "beauty", "games": "toys",
    "fitness": "sports", "food": "grocery", "drinks": "grocery", "smart home": "smart_home",
    "smarthome": "smart_home", "camping": "tents", "bags": "packs", "backpacks": "packs",
}  # fmt: skip

# What a visitor types to find a product, drawn alike: {term} is the thing it is ("mug"),
# {name} its name without brackets ("vintage mug"). See catalog.search_queries.
SEARCH_FORMS = ("{term}", "{term}", "{term}", "{name}", "{name}", "{term} sale", "best {term}",
                "cheap {term}", "{term} gift")  # fmt: skip
