import { createHash } from "node:crypto";
import { type Rng, rngStream } from "../rng.ts";
import { fixMissingPeriod, type NewsRecord } from "./records.ts";
import * as L from "./synthetic-lexicon.ts";

/**
 * A seeded generator of CNN/DailyMail-like news: a topic draws its facts (names, places, numbers,
 * dates), then the article states them in long form (lead, details, quotes, background) and the 3-4
 * highlights restate the key facts in shorter, different words — so a summary is derivable from the
 * article but is not a copy of its lead. Output follows HF's CNN/DM: paragraphs joined by " ",
 * highlights joined by "\n" and ending in " ." where the loader would add it.
 */

type Facts = Record<string, string>;

interface Topic {
  name: string;
  facts(r: Rng): Facts;
  leads: string[];
  body: string[];
  quotes: string[];
  /** One group per highlight slot; the first 3 always appear, a 4th only sometimes. */
  highlights: string[][];
}

export interface SyntheticArticle {
  record: NewsRecord;
  /** The article's paragraphs, i.e. the lines of its .story file. */
  paragraphs: string[];
  /** Highlights as written in the .story file (before HF's " ." fix). */
  rawHighlights: string[];
  topic: string;
}

const pick = <T>(r: Rng, xs: readonly T[]): T => xs[r.int(xs.length)];
const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const between = (r: Rng, lo: number, hi: number) => lo + r.int(hi - lo + 1);
const commas = (n: number) => n.toLocaleString("en-GB");
const ordinal = (n: number) => {
  const s = n % 100 >= 11 && n % 100 <= 13 ? "th" : (["th", "st", "nd", "rd"][n % 10] ?? "th");
  return `${n}${s}`;
};
const small = (n: number) => (n <= 20 ? L.NUMBER_WORDS[n] : String(n));

function money(r: Rng): string {
  const kind = r.int(3);
  if (kind === 0) return `£${commas(between(r, 2, 95) * 1000)}`;
  if (kind === 1) return `£${between(r, 2, 90)} million`;
  return `$${commas(between(r, 10, 900) * 1000)}`;
}

function person(r: Rng, prefix: string): Facts {
  const male = r.next() < 0.5;
  const first = pick(r, male ? L.MALE_NAMES : L.FEMALE_NAMES);
  const last = pick(r, L.LAST_NAMES);
  return {
    [`${prefix}first`]: first,
    [`${prefix}last`]: last,
    [`${prefix}name`]: `${first} ${last}`,
    [`${prefix}he`]: male ? "he" : "she",
    [`${prefix}He`]: male ? "He" : "She",
    [`${prefix}his`]: male ? "his" : "her",
    [`${prefix}man`]: male ? "man" : "woman",
    [`${prefix}Man`]: male ? "Man" : "Woman",
    [`${prefix}age`]: String(between(r, 19, 78)),
  };
}

function common(r: Rng): Facts {
  const town = pick(r, L.TOWNS);
  let town2 = pick(r, L.TOWNS);
  if (town2 === town) town2 = L.TOWNS[(L.TOWNS.indexOf(town) + 1) % L.TOWNS.length];
  return {
    ...person(r, ""),
    ...person(r, "o_"), // an official who is quoted
    ...person(r, "w_"), // a witness or second party
    ...person(r, "p_"), // a local figure in background lines
    town,
    town2,
    region: pick(r, L.REGIONS),
    day: pick(r, L.DAYS),
    month: pick(r, L.MONTHS),
    date: `${between(r, 1, 28)} ${pick(r, L.MONTHS)}`,
    year: String(between(r, 1998, 2014)),
    count: small(between(r, 3, 40)),
    bigcount: commas(between(r, 2, 90) * 100),
    amount: money(r),
    pct: String(between(r, 5, 60)),
    org: `${pick(r, L.COMPANY_STEMS)} ${pick(r, L.COMPANY_KINDS)}`,
    force: `${pick(r, L.REGIONS)} Police`,
  };
}

const crime: Topic = {
  name: "crime",
  facts(r) {
    const f = common(r);
    const off = pick(r, L.OFFENCES);
    f.victim = pick(r, L.VICTIMS);
    const sub = (s: string) => s.replace(/\{(\w+)\}/g, (_, k) => f[k] ?? k);
    f.act = sub(off.act);
    f.short = sub(off.short);
    f.offence = off.noun;
    f.years = small(between(r, 2, 14));
    f.court = `${f.town} ${pick(r, ["Crown Court", "Magistrates' Court", "Crown Court"])}`;
    return f;
  },
  leads: [
    "A {age}-year-old {man} from {town} has been jailed for {years} years for {act}, a court heard.",
    "{name}, {age}, was [today|yesterday|this week] jailed for {years} years after admitting {act}.",
    "A {man} who admitted {act} has been locked up for {years} years by a judge at {court}.",
  ],
  body: [
    "{name}, {age}, of {town}, [pleaded guilty|admitted the offence|was convicted] at an earlier hearing.",
    "{court} heard that {name} had [planned the crime for months|acted alone|shown no remorse] and [tried to cover his tracks|lied to police|blamed others].",
    "Prosecutor {w_name} told the court the offence had left the victims [shaken|devastated|afraid to leave their homes].",
    "The case was brought after officers from {force} [launched an investigation|were called to an address] in {town} on {day} {date}.",
    "{He} was arrested [days|weeks|months] later at a house in {town2} and charged with {offence}.",
    "In mitigation, {his} lawyer said {he} had been [struggling with debt|going through a divorce|caring for a sick relative] at the time.",
    "{He} had [no previous convictions|several previous convictions for similar offences|been released from prison only months earlier].",
    "Detectives said the investigation had involved [hours of CCTV footage|dozens of witness statements|bank records going back years].",
    "The judge also ordered {him_her} to pay {amount} in compensation.",
    "The court was told that {count} people had come forward after the first arrest.",
    "Neighbours in {town} described {name} as [quiet|friendly|a familiar face] and said they were [shocked|stunned|not surprised] by the news.",
  ],
  quotes: [
    "Sentencing, Judge {o_name} said: 'This was a [cruel|cynical|wicked] offence and the public must be protected.'",
    "Detective Inspector {o_name}, of {force}, said: 'I hope this sentence sends a clear message that {offence} will not be tolerated.'",
    "Speaking outside court, {w_name} said: 'We are relieved it is finally over and we can start to move on.'",
  ],
  highlights: [
    [
      "{name}, {age}, jailed for {years} years at {court}",
      "{Man}, {age}, from {town} jailed for {years} years for {offence}",
    ],
    ["{He} {short}", "Court heard {he} {short}", "{name} {short}, prosecutors said"],
    [
      "Judge {o_name} said the public must be protected",
      "Police say the sentence sends a message on {offence}",
    ],
    [
      "{He} was arrested in {town2} after a {force} investigation",
      "{He} must also pay {amount} in compensation",
    ],
  ],
};

const sport: Topic = {
  name: "sport",
  facts(r) {
    const f = common(r);
    f.team = `${f.town} ${pick(r, L.TEAM_SUFFIXES)}`;
    f.team2 = `${f.town2} ${pick(r, L.TEAM_SUFFIXES)}`;
    const a = between(r, 1, 5);
    const b = between(r, 0, a - 1);
    f.score = `${a}-${b}`;
    f.minute = String(between(r, 3, 90));
    f.minuteth = ordinal(Number(f.minute));
    f.position = pick(r, ["top", "second", "third", "fourth", "fifth", "bottom"]);
    f.points = String(between(r, 3, 15));
    f.crowd = commas(between(r, 8, 75) * 1000);
    f.games = small(between(r, 2, 12));
    f.league = pick(r, ["the Premier League", "the Championship", "League One", "the Scottish Premiership"]);
    return f;
  },
  leads: [
    "{name} scored in the {minuteth} minute as {team} beat {team2} {score} to move {position} in {league}.",
    "{team} beat {team2} {score} on {day}, with {name} [scoring the decisive goal|grabbing the winner|finding the net] after {minute} minutes.",
    "A goal from {name} after {minute} minutes gave {team} a {score} win over {team2} in front of {crowd} fans.",
  ],
  body: [
    "The result leaves {team} {points} points clear of {team2}, who have now gone {games} games without a win.",
    "A crowd of {crowd} watched the match, which was played in [heavy rain|bright sunshine|freezing conditions].",
    "{name}, {age}, joined the club from {team2} [last summer|in January|two years ago] for a fee of {amount}.",
    "{team2} had the better of the opening exchanges, but [their striker|their captain|their new signing] {w_name} missed two good chances.",
    "The visitors finished the game with ten men after {w_name} was shown a [red card|second yellow card] for a [late tackle|foul].",
    "{team} manager {o_name} [made three changes|kept the same side|handed a debut to a teenager] for the game.",
    "{team} have now won {games} of their last [ten|twelve|fifteen] matches in {league}.",
    "Both sides play again on {day}, when {team} travel to {region} and {team2} host their local rivals.",
  ],
  quotes: [
    "{o_name} said: 'I thought we were [excellent|brilliant|superb] today and {first} deserved the goal.'",
    "Speaking after the game, {name} said: 'It is a great feeling to score, but the most important thing is the three points.'",
    "{team2} boss {w_name} said: 'We did not do enough and we have to look at ourselves.'",
  ],
  highlights: [
    ["{team} beat {team2} {score} in {league}", "{team} win {score} against {team2}"],
    ["{name} scored after {minute} minutes", "{name} got the winning goal on {minute} minutes"],
    ["{team} move {position} in the table", "Result leaves {team} {points} points clear of {team2}"],
    ["{team2} have gone {games} games without a win", "{w_name} sent off for {team2}"],
  ],
};

const business: Topic = {
  name: "business",
  facts(r) {
    const f = common(r);
    const m = pick(r, L.BUSINESS_MOVES);
    f.jobs = commas(between(r, 1, 60) * 50);
    const sub = (s: string) => s.replace(/\{(\w+)\}/g, (_, k) => f[k] ?? k);
    f.move = sub(m.move);
    f.movenoun = m.noun;
    f.effect = sub(m.effect);
    f.profit = `£${between(r, 2, 900)} million`;
    f.updown = pick(r, ["rose", "fell"]);
    f.updownpp = f.updown === "rose" ? "risen" : "fallen";
    f.shares = String(between(r, 2, 19));
    return f;
  },
  leads: [
    "{org} is to {move}, {effect}, the company announced on {day}.",
    "{org}, one of the largest employers in {town}, has announced plans to {move}, {effect}.",
    "The boss of {org} has defended plans to {move} after profits {updown} to {profit}.",
  ],
  body: [
    "The firm said profits had {updownpp} to {profit} in the year to {month}, [as shoppers cut back|after a strong Christmas|despite rising costs].",
    "Shares in {org} {updown} by {shares} per cent in early trading after the announcement.",
    "The company was founded in {town} in {year} and now employs {bigcount} people across the country.",
    "Union leaders said they would [fight the plans|seek urgent talks|ballot members for strike action].",
    "Analysts at {org2} said the {movenoun} had been [widely expected|a surprise|long overdue].",
    "Chief executive {name}, who took over in {year}, has promised to [cut costs|grow the business|modernise the firm].",
    "The [local MP|council leader|mayor] {w_name} said the news was a [blow|boost] for {town}.",
    "The changes will be completed by {month} next year, the company said.",
  ],
  quotes: [
    "{name} said: 'These are difficult decisions, but they are the right ones for the long-term future of {org}.'",
    "A spokesman for the union said: 'Our members are [angry|worried|shocked] and deserve answers.'",
    "{w_name} said: 'This is a [sad day|big moment] for {town} and we will do everything we can to help.'",
  ],
  highlights: [
    ["{org} to {move}", "Plans announced by {org} to {move}"],
    ["The move means {effect}", "{Effect}, the firm says"],
    ["Profits {updown} to {profit}", "Shares {updown} {shares} per cent after announcement"],
    ["Boss {name} says decisions are right for the long term", "Unions say members are worried"],
  ],
};

const disaster: Topic = {
  name: "disaster",
  facts(r) {
    const f = common(r);
    const d = pick(r, L.DISASTERS);
    Object.assign(f, {
      mm: String(between(r, 40, 250)),
      acres: commas(between(r, 5, 90) * 100),
      mph: String(between(r, 60, 130)),
      cm: String(between(r, 20, 90)),
      mag: `${between(r, 4, 7)}.${between(r, 0, 9)}`,
    });
    const sub = (s: string) => s.replace(/\{(\w+)\}/g, (_, k) => f[k] ?? k);
    f.what = d.what;
    f.What = cap(d.what);
    f.verb = d.verb;
    f.cause = d.cause;
    f.measure = sub(d.measure);
    f.homes = commas(between(r, 2, 90) * 10);
    f.injured = small(between(r, 2, 30));
    f.dead = small(between(r, 0, 6));
    return f;
  },
  leads: [
    "{What} {verb} {town} on {day}, forcing {homes} families from their homes and leaving {injured} people injured.",
    "Hundreds of people were evacuated after {what} {verb} parts of {region}, with {injured} taken to hospital.",
    "Emergency services rushed to {town} after {what} caused by {cause} left {homes} homes [damaged|without power|cut off].",
  ],
  body: [
    "Forecasters said {measure} was recorded in [just a few hours|a single day|less than a week], [a record for the area|the worst in decades|far above the average].",
    "[Firefighters|Rescue teams|Soldiers] worked through the night to reach people trapped in [cars|homes|a care home].",
    "The {injured} people hurt included [a child|a pensioner|two firefighters], who were taken to hospital in {town2}.",
    "Officials said {dead} people had died, although that number [could rise|was not yet confirmed].",
    "Roads into {town} were closed and [train services|bus routes|flights] were cancelled.",
    "A rest centre was set up at a [school|leisure centre|church hall] for those forced to leave their homes.",
    "Insurers warned the cost of the damage could run to {amount}.",
    "The Environment Agency issued [further warnings|more alerts] for {region}, with more bad weather expected on {day}.",
  ],
  quotes: [
    "{o_name}, of the fire service, said: 'Crews have been working flat out in very dangerous conditions.'",
    "Resident {w_name} said: 'I have lived here for {count} years and I have never seen anything like it.'",
    "{name}, {age}, said: 'We lost everything in a matter of minutes.'",
  ],
  highlights: [
    ["{What} hits {town}, leaving {injured} people injured", "{injured} hurt as {what} hits {region}"],
    ["{homes} families forced from their homes", "{homes} homes damaged or cut off"],
    ["{Measure} recorded, say forecasters", "Officials say {dead} people have died"],
    ["Damage could cost {amount}, insurers warn", "More warnings issued for {region}"],
  ],
};

const health: Topic = {
  name: "health",
  facts(r) {
    const f = common(r);
    f.exposure = pick(r, L.STUDY_EXPOSURES);
    f.Exposure = cap(f.exposure);
    f.outcome = pick(r, L.STUDY_OUTCOMES);
    f.direction = pick(r, ["raise", "cut"]);
    f.raises = f.direction === "raise" ? "raises" : "cuts";
    f.uni = `${pick(r, L.TOWNS)} ${pick(r, L.UNIVERSITIES_KIND)}`;
    f.journal = pick(r, L.JOURNALS);
    f.participants = commas(between(r, 5, 120) * 100);
    f.years_n = small(between(r, 2, 20));
    return f;
  },
  leads: [
    "{Exposure} could {direction} the risk of {outcome} by {pct} per cent, according to a new study.",
    "Scientists say {exposure} {raises} the chance of developing {outcome} by as much as {pct} per cent.",
    "People who report {exposure} are {pct} per cent [more|less] likely to develop {outcome}, researchers have found.",
  ],
  body: [
    "The team from {uni} followed {participants} [adults|volunteers|men and women] for {years_n} years.",
    "The findings were published in {journal} on {day}.",
    "Participants filled in [questionnaires|food diaries|sleep diaries] and had regular check-ups with their doctor.",
    "The researchers took account of other factors such as [age|weight|smoking] and [income|exercise|diet].",
    "Around {bigcount} people are diagnosed with {outcome} every year in Britain.",
    "Experts not involved in the study said the results should be treated with [caution|care], as it showed a link rather than a cause.",
    "Previous research by the same team had linked {exposure} to [poor sleep|weight gain|better mood].",
    "The study was funded by [the Medical Research Council|a charity|the Wellcome Trust] and cost {amount}.",
  ],
  quotes: [
    "Lead author Dr {name} said: 'Our results suggest that small changes in daily life could make a real difference.'",
    "Professor {o_name}, who was not involved, said: 'This is an interesting study but more work is needed.'",
    "{w_name}, of a patient charity, said: 'We welcome any research that helps people understand the risks of {outcome}.'",
  ],
  highlights: [
    ["{Exposure} {raises} risk of {outcome} by {pct} per cent", "Study links {exposure} to {outcome}"],
    [
      "Researchers from {uni} followed {participants} people",
      "{participants} people tracked for {years_n} years",
    ],
    ["Findings published in {journal}", "Dr {name} says small changes make a difference"],
    [
      "Experts urge caution as study shows a link, not a cause",
      "Around {bigcount} people a year diagnosed with {outcome}",
    ],
  ],
};

const politics: Topic = {
  name: "politics",
  facts(r) {
    const f = common(r);
    const p = pick(r, L.POLICY_AREAS);
    const sub = (s: string) => s.replace(/\{(\w+)\}/g, (_, k) => f[k] ?? k);
    f.area = p.area;
    f.plan = sub(p.plan);
    f.who = p.who;
    f.role = pick(r, L.MINISTER_ROLES);
    f.party = pick(r, L.PARTIES);
    f.fund = `£${between(r, 50, 950)} million`;
    return f;
  },
  leads: [
    "{role} Secretary {name} has unveiled a {fund} plan to {plan}, promising help for {who}.",
    "The Government will spend {fund} to {plan}, {role} Secretary {name} announced on {day}.",
    "Ministers have pledged {fund} to {plan} in a move they say will help {who}.",
  ],
  body: [
    "The money will be spent over {years_n} years, with the first projects starting in {town} and {town2}.",
    "{name} set out the plans in a speech in {town}, saying {area} had been [neglected|underfunded|let down] for too long.",
    "But {party} said the plan did not go far enough and called it [a gimmick|too little, too late|a rehash of old promises].",
    "Figures published last month showed {bigcount} people in {region} were [waiting for help|affected by the problem].",
    "The announcement comes ahead of [elections in {month}|a vote in Parliament|the Budget next month].",
    "Campaigners have long called for more money for {area}, warning that {who} were being [left behind|ignored].",
    "Critics said the figure of {fund} included money that had already been announced.",
    "Officials said the plan would be reviewed in {month} next year.",
  ],
  quotes: [
    "{name} said: 'This is a [serious|bold|historic] plan and it will make a real difference to {who}.'",
    "{o_name}, speaking for {party}, said: 'Families have heard these promises before and they will believe it when they see it.'",
    "{w_name}, of a campaign group, said: 'We welcome the money but the details matter.'",
  ],
  highlights: [
    ["Government to spend {fund} to {plan}", "{fund} plan for {area} unveiled by {name}"],
    ["Ministers say the money will help {who}", "{role} Secretary says {area} neglected for too long"],
    ["{party} say the plan does not go far enough", "Critics say some money was already announced"],
    ["First projects to start in {town} and {town2}", "Plan to be reviewed in {month}"],
  ],
};

const rescue: Topic = {
  name: "rescue",
  facts(r) {
    const f = common(r);
    f.animal = pick(r, L.ANIMALS);
    f.place = pick(r, L.RESCUE_PLACES);
    f.hours = small(between(r, 2, 30));
    f.crew = pick(r, ["firefighters", "coastguards", "a mountain rescue team", "RSPCA officers", "police"]);
    return f;
  },
  leads: [
    "A {animal} has been rescued after spending {hours} hours trapped in {place} near {town}.",
    "{crew} {verb_saved} a {animal} that had been stuck in {place} in {region} for {hours} hours.",
    "{name}, {age}, feared {his} {animal} was dead after it fell into {place} on {day}.",
  ],
  body: [
    "The {animal}, called {pet}, had [wandered off|chased a rabbit|been frightened by fireworks] during a walk.",
    "{name} raised the alarm and {crew} arrived within [minutes|half an hour|the hour].",
    "Rescuers used [ropes|a ladder|a specialist camera|a boat] to reach the {animal}, which was [cold|hungry|frightened] but unhurt.",
    "The operation lasted [two|three|four] hours and involved {count} people.",
    "A vet in {town2} checked the {animal} over and said it had made a full recovery.",
    "{crew} warned owners to keep pets on a lead near {place_short}.",
    "It is the [second|third] rescue of its kind in {region} this year.",
    "Pictures of the rescue have been shared {bigcount} times online.",
  ],
  quotes: [
    "{name} said: 'I cannot thank them enough. {pet} is part of the family.'",
    "{o_name}, who led the rescue, said: 'It was a tricky job but we were delighted to get the {animal} out safely.'",
    "{w_name}, who saw the rescue, said: 'Everyone cheered when it was brought up.'",
  ],
  highlights: [
    [
      "{Animal} rescued after {hours} hours in {place}",
      "{Animal} trapped in {place} for {hours} hours saved by {crew}",
    ],
    ["Owner {name}, {age}, raised the alarm", "{name} feared {his} pet was dead"],
    ["The {animal} was unhurt and checked by a vet in {town2}", "Rescue involved {count} people"],
    ["Owners warned to keep pets on a lead", "Pictures shared {bigcount} times online"],
  ],
};

const transport: Topic = {
  name: "transport",
  facts(r) {
    const f = common(r);
    f.road = String(between(r, 1, 70));
    const t = pick(r, L.TRANSPORT_EVENTS);
    const sub = (s: string) => s.replace(/\{(\w+)\}/g, (_, k) => f[k] ?? k);
    f.what = t.what;
    f.where = sub(t.where);
    f.effect = t.effect;
    f.hours = small(between(r, 2, 12));
    f.injured = small(between(r, 1, 20));
    f.countth = ordinal(between(r, 2, 9));
    f.passengers = commas(between(r, 1, 40) * 25);
    return f;
  },
  leads: [
    "Thousands of travellers faced delays after {what} on {where}, {effect} for {hours} hours.",
    "{injured} people were hurt when {what} on {where} on {day} morning.",
    "Travel chaos hit {region} on {day} after {what} on {where}.",
  ],
  body: [
    "Police said {injured} people had been taken to hospital, [none with serious injuries|two with serious injuries].",
    "Around {passengers} passengers were affected, with some waiting [in the cold|for hours|without food or water].",
    "The driver, a {age}-year-old {man} from {town2}, was [treated at the scene|arrested|helping police].",
    "Engineers were called in to check the damage, and the route reopened [late on {day}|the next morning|after {hours} hours].",
    "Investigators from [the accident branch|the transport authority|{force}] have begun an inquiry.",
    "It is the {countth} incident on the route this year, according to local campaigners.",
    "Drivers were told to avoid the area and use routes through {town}.",
    "The operator said it would offer refunds to everyone whose journey was disrupted.",
  ],
  quotes: [
    "{o_name}, of {force}, said: 'We would like to thank the public for their patience.'",
    "Passenger {name}, {age}, said: 'Nobody told us what was going on. It was a nightmare.'",
    "{w_name}, who saw the incident, said: 'There was a huge bang and then everything stopped.'",
  ],
  highlights: [
    ["{What_cap} on {where}", "Delays after {what} on {where}"],
    ["{injured} people hurt, police say", "Around {passengers} passengers affected"],
    ["Route closed for {hours} hours", "Investigation launched into the incident"],
    ["Operator promises refunds for disrupted journeys", "Driver, {age}, from {town2}"],
  ],
};

export const TOPICS: Topic[] = [crime, sport, business, disaster, health, politics, rescue, transport];

/** Background lines any story can end with, so lengths and wording vary across the corpus. */
const FILLER = [
  "The {region} area has seen [a number of|several|similar] incidents in recent years.",
  "[More details are expected|Further updates will follow|An update is expected] later this week.",
  "A spokesman for {org} said the company was [aware of the reports|looking into the matter|not able to comment].",
  "Local councillor {p_name} said people in {town} were [talking about little else|keen to see action|proud of the response].",
  "The story was [widely shared|widely reported|discussed] on social media on {day}.",
  "Figures from {year} show the number of such cases has [risen|fallen] by {pct} per cent.",
  "Anyone with information has been asked to call {force} on 101.",
  "Residents of {town2} have also been [affected|following events closely].",
  "{p_name}, who has lived in {town} for {count} years, said it was [the talk of the town|all anyone could talk about].",
  "[It comes|This comes] [a week|a month|days] after a [similar|separate] story in {town2} made headlines.",
  "Last year, {org} was named one of the [biggest|best known] employers in {region}.",
  "[Officials|Experts] said [lessons would be learned|it was too early to draw conclusions].",
  "A [report|review] into the events is due to be published in {month}.",
  "Photographs taken on {day} showed [crowds gathering|people queuing|a quiet street] in the centre of {town}.",
  "[Volunteers|Shopkeepers|Parents] in {town} have [organised a collection|launched a petition|set up a support group] in response.",
  "The [announcement|news|decision] [prompted|sparked|triggered] a [lively|heated|lengthy] debate on [radio phone-ins|local forums|breakfast television].",
  "[Historians|Commentators|Observers] pointed out that {town} faced [comparable|similar] [challenges|difficulties] during the [seventies|eighties|nineties].",
  "A [petition|campaign|fundraising page] set up by {p_name} had [attracted|gathered|collected] {bigcount} [signatures|supporters|donations] by [Sunday|the weekend|Friday evening].",
  "[Meanwhile|Separately|Elsewhere], a [charity|community group|residents' association] in {region} [praised|criticised|questioned] the [response|handling of the situation|official explanation].",
  "The [weather|forecast] for the rest of the week is [mild|unsettled|bright but chilly], according to [forecasters|the Met Office].",
  "[Tourism|Trade|Business] in {town} is [worth|estimated at] {amount} a year, [according to|figures from] the local chamber of commerce.",
  "[Opposition|Independent|Veteran] councillors [demanded|requested|called for] an [urgent|independent|public] inquiry at [Thursday's|last night's|a packed] meeting.",
  "[Visitors|Commuters|Families] were [advised|urged|encouraged] to [check websites|plan ahead|allow extra time] before [travelling|setting off].",
  "[Earlier this year|Last spring|In {month}], the [same|neighbouring] area [hosted|celebrated|marked] a [festival|royal visit|centenary] that [drew|attracted] {bigcount} people.",
  "[Academics|Researchers] at a [nearby|local] university are [studying|monitoring|examining] the [long-term|wider|economic] [effects|consequences|impact].",
  "[Nobody|No one] from the [ministry|department|regulator] was [available|prepared|willing] to comment when [approached|contacted] on {day}.",
];

function fill(tpl: string, f: Facts, r: Rng): string {
  const chosen = tpl.replace(/\[([^\]]+)\]/g, (_, alts: string) => pick(r, alts.split("|")));
  return chosen.replace(/\{(\w+)\}/g, (_, k: string) => {
    const v = f[k];
    if (v === undefined) throw new Error(`synthetic template: no fact "${k}" in "${tpl}"`);
    return v;
  });
}

const words = (s: string) => s.split(/\s+/).filter(Boolean).length;
/** Highlight facts said in other words than the article: the article must state the original. */
const PARAPHRASE: Record<string, string> = { short: "act" };
const keysOf = (tpl: string) => [...tpl.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
/** A fact value as a whole word or phrase, any case ("Woman" in a highlight, "woman" in the text). */
const reCache = new Map<string, RegExp>();
const wordRe = (v: string) => reCache.get(v) ?? cached(v);
const cached = (v: string) => {
  const re = new RegExp(
    `(^|[^\\p{L}\\p{N}])${v.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}($|[^\\p{L}\\p{N}])`,
    "iu",
  );
  reCache.set(v, re);
  return re;
};

/** Facts every topic template may use, derived from the drawn ones. */
function derived(f: Facts, r: Rng): Facts {
  const animal = f.animal ?? "dog";
  return {
    him_her: f.he === "he" ? "him" : "her",
    Effect: cap(f.effect ?? ""),
    Measure: cap(f.measure ?? ""),
    Animal: cap(animal),
    What_cap: cap(f.what ?? ""),
    pet: pick(r, ["Bella", "Max", "Poppy", "Alfie", "Daisy", "Charlie", "Molly", "Buster", "Rosie", "Milo"]),
    place_short: (f.place ?? "water").replace(/^(a|an|the) /, ""),
    verb_saved: pick(r, ["saved", "rescued", "freed"]),
    org2: `${pick(r, L.COMPANY_STEMS)} ${pick(r, ["Capital", "Securities", "Partners"])}`,
    years_n: f.years_n ?? small(between(r, 2, 10)),
  };
}

/** One article from its own rng stream. Lengths are 150-400 words by construction. */
export function generateArticle(r: Rng): SyntheticArticle {
  const topic = pick(r, TOPICS);
  const base = topic.facts(r);
  const f = { ...base, ...derived(base, r) };
  const target = between(r, 160, 360);

  const lead = fill(pick(r, topic.leads), f, r);
  const body = r.shuffle([...topic.body]).map((t) => fill(t, f, r));
  const quotes = r.shuffle([...topic.quotes]).map((t) => fill(t, f, r));
  const filler = r.shuffle([...FILLER]).map((t) => fill(t, f, r));
  // Interleave details with quotes the way news copy does; fillers come last.
  const pool: string[] = [];
  for (let i = 0; i < body.length; i++) {
    pool.push(body[i]);
    if (i % 3 === 1 && quotes.length) pool.push(quotes.shift()!);
  }
  pool.push(...quotes, ...filler);

  // Highlights first: a variant is usable only if every fact it names is stated somewhere in the
  // lead or the pool; the sentences stating those facts are then kept whatever the length target.
  const mentions = (text: string, k: string) => wordRe(f[PARAPHRASE[k] ?? k]).test(text);
  const usable = (tpl: string) => keysOf(tpl).every((k) => [lead, ...pool].some((t) => mentions(t, k)));
  const slots = topic.highlights.length === 4 && r.next() < 0.5 ? 4 : 3;
  const chosen = topic.highlights
    .map((g) => g.filter(usable))
    .filter((g) => g.length > 0)
    .slice(0, slots)
    .map((g) => pick(r, g));
  const required = new Set<number>();
  for (const tpl of chosen) {
    let missing = keysOf(tpl).filter((k) => !mentions(lead, k));
    while (missing.length) {
      // The pool sentence stating most of the still-missing facts.
      let best = -1;
      let bestHits = 0;
      pool.forEach((t, i) => {
        const hits = missing.filter((k) => mentions(t, k)).length;
        if (hits > bestHits) [best, bestHits] = [i, hits];
      });
      required.add(best);
      missing = missing.filter((k) => !mentions(pool[best], k));
    }
  }

  const sentences = [cap(lead)];
  let n = words(lead);
  let reqLeft = [...required].reduce((a, i) => a + words(pool[i]), 0);
  pool.forEach((s, i) => {
    if (required.has(i)) reqLeft -= words(s);
    else if (n >= target || n + words(s) + reqLeft > 400) return;
    sentences.push(cap(s));
    n += words(s);
  });
  // Paragraphs of 1-3 sentences: the .story lines.
  const paragraphs: string[] = [];
  for (let i = 0; i < sentences.length; ) {
    const k = 1 + r.int(3);
    paragraphs.push(sentences.slice(i, i + k).join(" "));
    i += k;
  }
  const rawHighlights = chosen.map((tpl) => cap(fill(tpl, f, r)));
  const article = paragraphs.map(fixMissingPeriod).join(" ");
  const highlights = rawHighlights.map(fixMissingPeriod).join("\n");
  const id = createHash("sha1").update(`${article}\n@highlights\n${highlights}`).digest("hex");
  return { record: { id, article, highlights }, paragraphs, rawHighlights, topic: topic.name };
}

/** `count` articles for a split; each draws from its own child stream, so counts never shift content. */
export function generateCorpus(seed: number | string, split: string, count: number): SyntheticArticle[] {
  const root = rngStream(seed, `synthetic/${split}`);
  return Array.from({ length: count }, (_, i) => generateArticle(root.child(String(i))));
}

export const DEFAULT_SPLITS = { train: 4000, validation: 200, test: 400 } as const;
