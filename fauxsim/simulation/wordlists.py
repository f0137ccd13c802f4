"""Small, fixed word pools for names. Faker would cost ~70 µs a call; these cost nothing.

Order matters: the pools are indexed by seeded draws, so changing them changes output.
"""

from __future__ import annotations

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Ava", "Elijah", "Sophia", "James",
    "Isabella", "William", "Mia", "Benjamin", "Charlotte", "Lucas", "Harper", "Henry", "Evelyn",
    "Theodore", "Luna", "Jack", "Camila", "Levi", "Gianna", "Alexander", "Elizabeth", "Jackson",
    "Eleanor", "Mateo", "Ella", "Daniel", "Abigail", "Michael", "Sofia", "Mason", "Avery",
    "Sebastian", "Scarlett", "Ethan", "Emily", "Logan", "Aria", "Owen", "Penelope", "Samuel",
    "Chloe", "Jacob", "Layla", "Asher", "Mila", "Aiden", "Nora", "John", "Hazel", "Joseph",
    "Madison", "Wyatt", "Ellie", "David", "Lily", "Leo", "Nova", "Luke", "Isla", "Julian",
    "Grace", "Hudson", "Violet", "Grayson", "Aurora", "Matthew", "Riley", "Ezra", "Zoey",
    "Gabriel", "Willow", "Carter", "Emilia", "Isaac", "Stella", "Jayden", "Zoe", "Lincoln",
    "Victoria", "Anthony", "Hannah", "Hugo", "Lea", "Mats", "Ingrid", "Yuki", "Aiko", "Priya",
    "Arjun", "Fatima", "Omar", "Chen", "Mei", "Kofi", "Amara", "Zoltan", "Bianca",
)  # fmt: skip

LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Müller", "Schmidt", "Dubois",
    "Rossi", "Kowalski", "Novak", "Tanaka", "Sato", "Kim", "Park", "Singh", "Patel", "O'Brien",
    "Murphy", "Kelly", "Larsen", "Jensen", "Silva", "Santos", "Costa", "Okafor", "Mensah",
)  # fmt: skip

EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example", "inbox.example")

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

# What a visitor types to find a product, drawn alike: {term} is the thing it is ("mug"),
# {name} its name without brackets ("vintage mug"). See catalog.search_queries.
SEARCH_FORMS = ("{term}", "{term}", "{term}", "{name}", "{name}", "{term} sale", "best {term}",
                "cheap {term}", "{term} gift")  # fmt: skip
