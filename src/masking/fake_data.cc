#include "masking/fake_data.h"

namespace dblab::fake_data {

std::span<const std::string_view> FirstNames() {
  static constexpr std::string_view kWords[] = {
      "James",     "Mary",     "Robert",    "Patricia",  "John",      "Jennifer",   "Michael",
      "Linda",     "David",    "Elizabeth", "William",   "Barbara",   "Richard",    "Susan",
      "Joseph",    "Jessica",  "Thomas",    "Sarah",     "Charles",   "Karen",      "Christopher",
      "Lisa",      "Daniel",   "Nancy",     "Matthew",   "Betty",     "Anthony",    "Sandra",
      "Mark",      "Margaret", "Donald",    "Ashley",    "Steven",    "Kimberly",   "Paul",
      "Emily",     "Andrew",   "Donna",     "Joshua",    "Michelle",  "Kenneth",    "Carol",
      "Kevin",     "Amanda",   "Brian",     "Melissa",   "George",    "Deborah",    "Timothy",
      "Stephanie", "Ronald",   "Rebecca",   "Jason",     "Laura",     "Edward",     "Helen",
      "Jeffrey",   "Sharon",   "Ryan",      "Cynthia",   "Jacob",     "Kathleen",   "Gary",
      "Amy",       "Nicholas", "Angela",    "Eric",      "Shirley",   "Jonathan",   "Anna",
      "Stephen",   "Brenda",   "Larry",     "Pamela",    "Justin",    "Emma",       "Scott",
      "Nicole",    "Brandon",  "Samantha",  "Benjamin",  "Katherine", "Samuel",     "Christine",
      "Gregory",   "Debra",    "Alexander", "Rachel",    "Patrick",   "Carolyn",    "Frank",
      "Janet",     "Raymond",  "Maria",     "Jack",      "Olivia",    "Dennis",     "Heather",
      "Jerry",     "Diane",    "Tyler",     "Julie",     "Aaron",     "Joyce",      "Jose",
      "Victoria",  "Adam",     "Ruth",      "Nathan",    "Virginia",  "Henry",      "Lauren",
      "Zachary",   "Kelly",    "Douglas",   "Christina", "Peter",     "Joan",       "Kyle",
      "Evelyn",    "Noah",     "Judith",    "Ethan",     "Andrea",    "Jeremy",     "Hannah",
      "Walter",    "Megan",    "Christian", "Cheryl",    "Keith",     "Jacqueline", "Roger",
      "Martha",    "Terry",    "Madison",   "Austin",    "Teresa",    "Sean",       "Gloria",
      "Gerald",    "Sara",     "Carl",      "Janice",    "Harold",    "Ann",        "Dylan",
      "Kathryn",   "Arthur",   "Abigail",   "Lawrence",  "Sophia",    "Jordan",     "Frances",
      "Jesse",     "Jean",     "Bryan",     "Alice",     "Billy",     "Judy",       "Bruce",
      "Isabella",  "Gabriel",  "Julia",     "Joe",       "Grace",     "Logan",      "Amber",
      "Alan",      "Denise",   "Juan",      "Danielle",  "Albert",    "Marilyn",    "Willie",
      "Beverly",   "Elijah",   "Charlotte", "Wayne",     "Natalie",   "Randy",      "Theresa",
      "Vincent",   "Diana",    "Mason",     "Brittany",  "Roy",       "Doris",      "Ralph",
      "Kayla",     "Bobby",    "Alexis",    "Russell",   "Lori",      "Bradley",    "Marie"};
  return kWords;
}

std::span<const std::string_view> LastNames() {
  static constexpr std::string_view kWords[] = {
      "Smith",    "Johnson",   "Williams",   "Brown",     "Jones",      "Garcia",    "Miller",
      "Davis",    "Rodriguez", "Martinez",   "Hernandez", "Lopez",      "Gonzalez",  "Wilson",
      "Anderson", "Thomas",    "Taylor",     "Moore",     "Jackson",    "Martin",    "Lee",
      "Perez",    "Thompson",  "White",      "Harris",    "Sanchez",    "Clark",     "Ramirez",
      "Lewis",    "Robinson",  "Walker",     "Young",     "Allen",      "King",      "Wright",
      "Scott",    "Torres",    "Nguyen",     "Hill",      "Flores",     "Green",     "Adams",
      "Nelson",   "Baker",     "Hall",       "Rivera",    "Campbell",   "Mitchell",  "Carter",
      "Roberts",  "Gomez",     "Phillips",   "Evans",     "Turner",     "Diaz",      "Parker",
      "Cruz",     "Edwards",   "Collins",    "Reyes",     "Stewart",    "Morris",    "Morales",
      "Murphy",   "Cook",      "Rogers",     "Gutierrez", "Ortiz",      "Morgan",    "Cooper",
      "Peterson", "Bailey",    "Reed",       "Kelly",     "Howard",     "Ramos",     "Kim",
      "Cox",      "Ward",      "Richardson", "Watson",    "Brooks",     "Chavez",    "Wood",
      "James",    "Bennett",   "Gray",       "Mendoza",   "Ruiz",       "Hughes",    "Price",
      "Alvarez",  "Castillo",  "Sanders",    "Patel",     "Myers",      "Long",      "Ross",
      "Foster",   "Jimenez",   "Powell",     "Jenkins",   "Perry",      "Russell",   "Sullivan",
      "Bell",     "Coleman",   "Butler",     "Henderson", "Barnes",     "Gonzales",  "Fisher",
      "Vasquez",  "Simmons",   "Romero",     "Jordan",    "Patterson",  "Alexander", "Hamilton",
      "Graham",   "Reynolds",  "Griffin",    "Wallace",   "Moreno",     "West",      "Cole",
      "Hayes",    "Bryant",    "Herrera",    "Gibson",    "Ellis",      "Tran",      "Medina",
      "Aguilar",  "Stevens",   "Murray",     "Ford",      "Castro",     "Marshall",  "Owens",
      "Harrison", "Fernandez", "McDonald",   "Woods",     "Washington", "Kennedy",   "Wells",
      "Vargas",   "Henry",     "Chen",       "Freeman",   "Webb",       "Tucker",    "Guzman",
      "Burns",    "Crawford",  "Olson",      "Simpson",   "Porter",     "Hunter",    "Gordon",
      "Mendez",   "Silva",     "Shaw",       "Snyder",    "Mason",      "Dixon",     "Munoz",
      "Hunt",     "Hicks",     "Holmes",     "Palmer",    "Wagner",     "Black",     "Robertson",
      "Boyd",     "Rose",      "Stone",      "Salazar",   "Fox",        "Warren",    "Mills",
      "Meyer",    "Rice",      "Schmidt",    "Garza",     "Daniels",    "Ferguson",  "Nichols",
      "Stephens", "Soto",      "Weaver",     "Ryan",      "Gardner",    "Payne",     "Grant",
      "Dunn"};
  return kWords;
}

std::span<const std::string_view> StreetNames() {
  static constexpr std::string_view kWords[] = {
      "Maple",      "Oak",      "Pine",      "Cedar",   "Elm",      "Willow",   "Birch",
      "Walnut",     "Chestnut", "Spruce",    "Hickory", "Sycamore", "Magnolia", "Poplar",
      "Aspen",      "Laurel",   "Hawthorn",  "Juniper", "Cypress",  "Alder",    "Park",
      "Lake",       "Hill",     "River",     "Meadow",  "Forest",   "Valley",   "Spring",
      "Sunset",     "Highland", "Church",    "Mill",    "School",   "Center",   "Union",
      "Washington", "Lincoln",  "Jefferson", "Madison", "Franklin", "Jackson",  "Adams",
      "Main",       "First",    "Second",    "Third",   "Fourth",   "Fifth",    "Sixth",
      "Seventh",    "Eighth"};
  return kWords;
}

std::span<const std::string_view> StreetSuffixes() {
  static constexpr std::string_view kWords[] = {"Street", "Avenue", "Road",      "Lane", "Drive",
                                                "Court",  "Place",  "Boulevard", "Way",  "Terrace"};
  return kWords;
}

std::span<const std::string_view> Cities() {
  static constexpr std::string_view kWords[] = {
      "Springfield", "Riverside",   "Fairview",   "Franklin",  "Greenville", "Bristol",
      "Clinton",     "Madison",     "Georgetown", "Salem",     "Arlington",  "Ashland",
      "Burlington",  "Manchester",  "Milton",     "Newport",   "Oxford",     "Dayton",
      "Auburn",      "Clayton",     "Dover",      "Hudson",    "Kingston",   "Lebanon",
      "Marion",      "Mount",       "Vernon",     "Oakland",   "Jackson",    "Lexington",
      "Winchester",  "Centerville", "Chester",    "Cleveland", "Columbia",   "Concord",
      "Dublin",      "Farmington",  "Glendale",   "Hamilton",  "Jamestown",  "Lancaster",
      "Milford",     "Monroe",      "Plymouth",   "Richmond",  "Shelby",     "Troy",
      "Warren",      "Wilson",      "Windsor"};
  return kWords;
}

std::span<const std::string_view> CompanyWords() {
  static constexpr std::string_view kWords[] = {
      "Acme",    "Apex",    "Atlas",  "Beacon",    "Blue",    "Bright",     "Cascade", "Cedar",
      "Crest",   "Delta",   "Eagle",  "Evergreen", "Falcon",  "Frontier",   "Golden",  "Granite",
      "Harbor",  "Horizon", "Iron",   "Keystone",  "Liberty", "Lighthouse", "Maple",   "Meridian",
      "Nova",    "Oak",     "Orbit",  "Pacific",   "Peak",    "Pioneer",    "Prairie", "Quantum",
      "Redwood", "Ridge",   "River",  "Sierra",    "Silver",  "Summit",     "Sun",     "Titan",
      "Vertex",  "Vista",   "Willow", "Zenith"};
  return kWords;
}

std::span<const std::string_view> CompanySuffixes() {
  static constexpr std::string_view kWords[] = {"Inc",      "LLC",     "Ltd",  "Group", "Partners",
                                                "Holdings", "Systems", "Labs", "Works", "Co"};
  return kWords;
}

std::span<const std::string_view> EmailDomains() {
  static constexpr std::string_view kWords[] = {"example.com", "example.net", "example.org"};
  return kWords;
}

}  // namespace dblab::fake_data
