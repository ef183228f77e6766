// Word lists for the synthetic news corpus. Sized so the corpus has a ~2-3k word vocabulary:
// diverse enough to need summarising, small enough for a tiny LM to learn.

const w = (s: string): string[] => s.trim().split(/\s+/);

export const MALE_NAMES = w(`
  James John Robert Michael David William Richard Joseph Thomas Charles Daniel Matthew Anthony Mark
  Paul Steven Andrew Kenneth Joshua Kevin Brian George Edward Ronald Timothy Jason Jeffrey Ryan Jacob
  Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin Samuel Gregory Frank Patrick
  Raymond Jack Dennis Jerry Tyler Aaron Henry Adam Peter Nathan Zachary Kyle Walter Harold Carl Arthur
  Ahmed Omar Yusuf Raj Arjun Chen Luca Marco Pierre Lars Hamish Callum
`);

export const FEMALE_NAMES = w(`
  Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Nancy Lisa Betty Margaret
  Sandra Ashley Kimberly Emily Donna Michelle Dorothy Carol Amanda Melissa Deborah Stephanie Rebecca
  Sharon Laura Cynthia Kathleen Amy Shirley Angela Helen Anna Brenda Pamela Nicole Emma Samantha
  Katherine Christine Debra Rachel Catherine Carolyn Janet Ruth Maria Heather Diane Virginia Julie
  Joyce Victoria Olivia Kelly Christina Lauren Joan Evelyn Judith Megan Cheryl Andrea Hannah Martha
  Jacqueline Frances Gloria Ann Teresa Kathryn Sara Janice Jean Alice Madison Doris Abigail Julia
  Grace Judy Rose Beverly Denise Marilyn Amber Danielle Sophie Chloe Lucy Ellie Priya Fatima Aisha Mei
  Sofia Elena Claire Ingrid Fiona
`);

export const LAST_NAMES = w(`
  Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore Martin Jackson
  Thompson White Harris Clark Lewis Robinson Walker Young Allen King Wright Scott Hill Green Adams Baker
  Nelson Carter Mitchell Roberts Turner Phillips Campbell Parker Evans Edwards Collins Stewart Morris
  Murphy Cook Rogers Morgan Cooper Peterson Reed Bailey Bell Kelly Howard Ward Cox Richardson Wood
  Watson Brooks Bennett Gray James Hughes Price Sanders Myers Long Ross Foster Powell Jenkins Perry
  Russell Sullivan Fisher Henderson Coleman Simmons Patterson Jordan Reynolds Hamilton Graham Wallace
  Woods Cole West Owens Marshall Harrison Gibson Ellis Fox Stone Hunt Palmer Mills Knight Lloyd Webb
  Hughes Holmes Barker Fletcher Spencer Walsh Burton Dixon Hart Lawrence Shaw Chapman Payne Gardner
  Rowe Fraser Lamb Murray Gordon Kennedy Hayes Duncan Pearson Hudson Dunn Ford Wells Grant Barnes Hale
  Patel Khan Singh Ali Hussain Sharma Wang Zhang Rossi Ferrari Dubois Moreau Nielsen Larsen Okafor
  Mensah Kowalski Novak Schmidt Weber Fischer Becker Moretti Romano Costa Silva Santos Tanaka Sato
  Abbott Atkinson Bates Blake Bradley Briggs Bull Burke Byrne Cartwright Chambers Chandler Clarke
  Cross Dawson Doyle Farrell Fleming Francis Gilbert Goodwin Griffiths Hammond Hartley Hawkins Hewitt
  Hodgson Holland Hopkins Howe Hutchinson Jarvis Kemp Lambert Lane Lowe Lucas Lynch Mann Marsh Mason
  Matthews Mellor Moss Newman Nicholls Norman Norton Osborne Parsons Pearce Porter Quinn Randall Read
  Rees Riley Robertson Rose Rowley Savage Sharp Slater Steele Sutton Swift Thornton Tucker Vaughan
  Wade Walters Warren Waters Watts Weaver Whitehouse Wilkinson Willis Winter Wong Yates
`);

export const TOWNS = w(`
  Manchester Birmingham Leeds Liverpool Sheffield Bristol Newcastle Nottingham Leicester Coventry
  Bradford Cardiff Swansea Glasgow Edinburgh Aberdeen Dundee Belfast Derry Plymouth Southampton
  Portsmouth Brighton Reading Oxford Cambridge Norwich Ipswich Exeter Bath Gloucester Worcester
  Hereford Chester Stoke Derby Lincoln York Hull Sunderland Durham Carlisle Lancaster Preston Blackpool
  Bolton Wigan Salford Stockport Doncaster Rotherham Barnsley Wakefield Huddersfield Halifax Harrogate
  Scarborough Middlesbrough Darlington Peterborough Northampton Luton Watford Slough Swindon Taunton
  Truro Bournemouth Poole Salisbury Winchester Guildford Maidstone Canterbury Dover Margate Colchester
  Chelmsford Southend Basildon Crawley Eastbourne Hastings Worthing Chichester Inverness Stirling Perth
  Boston Chicago Denver Houston Dallas Phoenix Seattle Atlanta Miami Orlando Detroit Memphis Nashville
  Portland Sacramento Austin Baltimore Cleveland Pittsburgh Sydney Melbourne Brisbane Auckland Toronto
  Dublin Paris Madrid Rome Berlin Lisbon Amsterdam Vienna Prague Athens Cairo Nairobi Lagos Mumbai
  Ambleside Keswick Whitby Skegness Lowestoft Falmouth Penzance Barnstaple Kendal Buxton Matlock
  Ludlow Shrewsbury Telford Wrexham Bangor Aberystwyth Tenby Oban Fort-William Kirkwall Lerwick
  Galway Cork Limerick Kilkenny Sligo Omagh Newry Ballymena Coleraine Enniskillen
`);

export const REGIONS = w(`
  Lancashire Yorkshire Cheshire Kent Essex Surrey Sussex Devon Cornwall Dorset Somerset Norfolk Suffolk
  Cumbria Northumberland Derbyshire Staffordshire Shropshire Wiltshire Hampshire Berkshire Oxfordshire
  Texas Florida California Ohio Georgia Arizona Colorado Michigan Oregon Virginia Queensland Ontario
`);

export const MONTHS = w(
  `January February March April May June July August September October November December`,
);
export const DAYS = w(`Monday Tuesday Wednesday Thursday Friday Saturday Sunday`);

export const NUMBER_WORDS = w(`
  zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
  sixteen seventeen eighteen nineteen twenty
`);

export const COMPANY_STEMS = w(`
  Harrow Kestrel Meridian Northgate Bluewater Redbrook Castleford Ashdown Silverline Oakridge Pinewood
  Brightwell Ironbridge Clearview Westfield Stonegate Greenfield Highpoint Riverside Lakeside Summit
  Falcon Beacon Anchor Horizon Pioneer Sterling Crown Harbour Orchard Granite Willow Maple Cedar
`);
export const COMPANY_KINDS = w(`
  Logistics Foods Energy Motors Airways Retail Telecom Pharma Homes Bank Insurance Media Software
  Construction Brewery Fashion Electronics Rail Shipping Hotels
`);

export const TEAM_SUFFIXES = w(`United City Rovers Athletic Wanderers Town Albion Rangers County`);

export const UNIVERSITIES_KIND = ["University", "University College", "Institute of Technology"];

export const JOURNALS = [
  "the Lancet",
  "the British Medical Journal",
  "Nature",
  "Science",
  "the Journal of Public Health",
  "the New England Journal of Medicine",
  "Nature Medicine",
  "the journal Pediatrics",
];

export const OFFENCES = [
  { act: "stealing {amount} from {org}", short: "stole {amount} from {org}", noun: "theft" },
  {
    act: "defrauding elderly neighbours of {amount}",
    short: "conned neighbours out of {amount}",
    noun: "fraud",
  },
  {
    act: "causing death by dangerous driving",
    short: "killed a {victim} while driving dangerously",
    noun: "dangerous driving",
  },
  {
    act: "a string of burglaries across {region}",
    short: "carried out {count} burglaries",
    noun: "burglary",
  },
  {
    act: "attacking a {victim} outside a nightclub",
    short: "assaulted a {victim} outside a club",
    noun: "assault",
  },
  {
    act: "selling fake designer goods worth {amount}",
    short: "sold {amount} of fake goods",
    noun: "counterfeiting",
  },
  { act: "running a cannabis farm in a rented house", short: "ran a cannabis farm", noun: "drug production" },
  { act: "setting fire to a former partner's car", short: "torched an ex-partner's car", noun: "arson" },
];

export const VICTIMS = w(
  `pensioner cyclist student teenager nurse pedestrian motorcyclist shopkeeper taxi-driver grandmother`,
);

export const DISASTERS = [
  { what: "flooding", verb: "swept through", cause: "torrential rain", measure: "{mm}mm of rain" },
  {
    what: "a wildfire",
    verb: "tore through",
    cause: "strong winds and dry conditions",
    measure: "{acres} acres",
  },
  { what: "a storm", verb: "battered", cause: "gusts of up to {mph}mph", measure: "winds of {mph}mph" },
  {
    what: "a tornado",
    verb: "ripped through",
    cause: "a violent band of thunderstorms",
    measure: "winds of {mph}mph",
  },
  { what: "a landslide", verb: "hit", cause: "weeks of heavy rain", measure: "{mm}mm of rain" },
  { what: "a blizzard", verb: "brought chaos to", cause: "freezing Arctic air", measure: "{cm}cm of snow" },
  { what: "an earthquake", verb: "shook", cause: "a shift along a fault line", measure: "magnitude {mag}" },
];

export const STUDY_EXPOSURES = [
  "eating processed meat",
  "drinking two cups of coffee a day",
  "sleeping fewer than six hours a night",
  "walking for 30 minutes a day",
  "using a smartphone in bed",
  "eating a Mediterranean diet",
  "regular dog walking",
  "working night shifts",
  "drinking sugary fizzy drinks",
  "living near a busy road",
  "taking a daily nap",
  "eating dark chocolate",
];
export const STUDY_OUTCOMES = [
  "heart disease",
  "type 2 diabetes",
  "dementia",
  "depression",
  "high blood pressure",
  "obesity",
  "a stroke",
  "bowel cancer",
  "asthma",
  "memory loss",
];

export const POLICY_AREAS = [
  { area: "housing", plan: "build {count} new homes", who: "first-time buyers" },
  { area: "schools", plan: "hire {count} extra teachers", who: "pupils in deprived areas" },
  { area: "the NHS", plan: "cut waiting lists with {count} new beds", who: "patients" },
  { area: "transport", plan: "upgrade {count} miles of railway", who: "commuters" },
  { area: "policing", plan: "put {count} more officers on the streets", who: "victims of crime" },
  { area: "energy", plan: "insulate {count} homes", who: "families struggling with bills" },
  { area: "childcare", plan: "fund {count} free nursery places", who: "working parents" },
];
export const PARTIES = ["Labour", "the Conservatives", "the Liberal Democrats", "the Green Party", "the SNP"];
export const MINISTER_ROLES = w(
  `Housing Education Health Transport Home Energy Business Environment Culture`,
);

export const ANIMALS = w(`dog cat horse puppy kitten sheep swan deer fox parrot tortoise goat`);
export const RESCUE_PLACES = [
  "a disused mine shaft",
  "a frozen lake",
  "a cliff ledge",
  "a storm drain",
  "a burning house",
  "a flooded river",
  "a collapsed barn",
  "the roof of a factory",
];

export const BUSINESS_MOVES = [
  { move: "close {count} stores", noun: "store closures", effect: "putting {jobs} jobs at risk" },
  { move: "open {count} new branches", noun: "expansion", effect: "creating {jobs} jobs" },
  { move: "cut {jobs} jobs", noun: "job cuts", effect: "saving {amount} a year" },
  { move: "move its headquarters to {town2}", noun: "move", effect: "affecting {jobs} staff" },
  { move: "raise prices by {pct} per cent", noun: "price rise", effect: "hitting {count} customers" },
];

export const TRANSPORT_EVENTS = [
  { what: "a lorry overturned", where: "the M{road}", effect: "closing three lanes" },
  { what: "a train derailed", where: "the line near {town}", effect: "cancelling services" },
  { what: "a bus crashed into a wall", where: "the high street in {town}", effect: "blocking the road" },
  { what: "a plane made an emergency landing", where: "{town} airport", effect: "delaying flights" },
  { what: "a ferry lost power", where: "the harbour at {town}", effect: "stranding passengers" },
  {
    what: "a bridge was closed after cracks appeared",
    where: "the A{road} in {region}",
    effect: "causing long diversions",
  },
];
