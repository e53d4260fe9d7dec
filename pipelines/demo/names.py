"""Word lists for plausible German demo people and companies."""

FIRST_NAMES = [
    "Anna", "Lena", "Sophie", "Marie", "Laura", "Julia", "Katharina", "Hannah", "Lea", "Sarah",
    "Jana", "Ursula", "Sabine", "Petra", "Monika", "Renate", "Birgit", "Jürgen", "Sören",
    "Lukas", "Leon", "Jonas", "Felix", "Maximilian", "Paul", "Tim", "Jan", "Niklas", "Tobias",
    "Stefan", "Thomas", "Michael", "Andreas", "Frank", "Klaus", "Björn", "Jörg", "Günter",
    "Dörte", "Zoë", "Ayşe", "Mehmet", "Elif", "Emre", "Luca", "Mia", "Emma", "Ben", "Finn",
]
LAST_NAMES = [
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder",
    "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange",
    "Schmitt", "Werner", "Krause", "Meier", "Lehmann", "Köhler", "Weiß", "Jäger", "Groß",
    "Öztürk", "Yılmaz", "Kowalski", "Nowak", "Vogel", "Friedrich", "Günther", "Böhm",
]
B2C_DOMAINS = ["gmail.com", "web.de", "gmx.de", "t-online.de", "outlook.de", "posteo.de",
               "icloud.com", "gmx.net", "freenet.de"]
COMPANY_WORDS = ["Nordlicht", "Bergwerk", "Elbstrand", "Rheinblick", "Alpenglühen",
                 "Hanse", "Süderholz", "Feldmark", "Lindenhof", "Sonnenberg", "Isartal",
                 "Mainufer", "Ostwind", "Wattenmeer", "Schwarzwald", "Spreewald",
                 "Donaublick", "Harzkraft", "Eifelstein", "Weserland"]
COMPANY_KINDS = ["Logistik", "Kaffeerösterei", "Design", "Bau", "Software", "Consulting",
                 "Gastronomie", "Medien", "Handel", "Technik", "Praxis", "Manufaktur"]
LEGAL_FORMS = ["GmbH", "GmbH & Co. KG", "AG", "e.K.", "UG (haftungsbeschränkt)", "KG"]
INDUSTRIES = ["Computer Software", "Retail", "Marketing and Advertising",
              "Mechanical or Industrial Engineering", "Hospitality",
              "Health, Wellness and Fitness", "Construction", "Food & Beverages",
              "Logistics and Supply Chain", "Design"]
CITIES = ["Berlin", "Hamburg", "München", "Köln", "Frankfurt am Main", "Stuttgart",
          "Düsseldorf", "Leipzig", "Dortmund", "Essen", "Bremen", "Dresden", "Hannover",
          "Nürnberg", "Wien", "Zürich", "Graz", "Münster", "Freiburg im Breisgau"]

# sku, name, price EUR (incl. VAT), category (the sku prefix)
PRODUCTS = [
    ("KAF-001", "Espresso Bohnen 1 kg", 24.90), ("KAF-002", "Filterkaffee Hausmischung 500 g", 12.90),
    ("KAF-003", "Entkoffeiniert 250 g", 8.50), ("KAF-004", "Single Origin Äthiopien 250 g", 14.90),
    ("TEE-001", "Grüner Tee Sencha 100 g", 9.90), ("TEE-002", "Früchtetee „Sommerwiese“", 6.90),
    ("TEE-003", "Chai Gewürzmischung", 11.50), ("ZUB-001", "Handfilter Keramik", 29.00),
    ("ZUB-002", "Milchaufschäumer", 49.00), ("ZUB-003", "Kaffeemühle manuell", 79.00),
    ("ZUB-004", "Thermobecher 350 ml", 19.90), ("ZUB-005", "Filterpapier (100 Stück)", 4.50),
    ("MAS-001", "Siebträgermaschine Basic", 449.00), ("MAS-002", "Vollautomat Comfort", 899.00),
    ("ABO-001", "Kaffee-Abo Monat", 29.90), ("ABO-002", "Tee-Abo Quartal", 54.00),
    ("GUT-001", "Geschenkgutschein 25 €", 25.00), ("GUT-002", "Geschenkgutschein 50 €", 50.00),
    ("SEM-001", "Barista-Workshop", 129.00), ("SEM-002", "Latte-Art Kurs", 89.00),
]
TICKET_CATEGORIES = ["Product issue", "Shipping", "Billing issue", "Return request",
                     "General inquiry", "Complaint"]
TICKET_PRIORITIES = ["Low", "Medium", "High", "Urgent"]
COMMENTS_PROMOTER = ["Super Service, immer wieder gern!", "Bester Kaffee, schnelle Lieferung.",
                     "Ich empfehle euch überall weiter – danke!", "Top Beratung am Telefon."]
COMMENTS_PASSIVE = ["Ganz okay, Lieferung dauerte etwas.", "Preis-Leistung passt.",
                    "Gut, aber die Verpackung könnte „grüner“ sein."]
COMMENTS_DETRACTOR = ["Bestellung kam beschädigt an, Erstattung dauerte ewig.",
                      "Zu teuer für die Qualität – 12 € Versand ist frech.",
                      "Kundenservice reagiert nicht. Sehr enttäuscht.",
                      "Falsche Ware geliefert, ärgerlich."]
