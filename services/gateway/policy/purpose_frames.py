"""The framing around a category's words: a crime, a victim, a protective detail, or a search aimed at people.

Patterns run over folded text, as those of purpose_cues.py. A crime or a victim makes a category's words a
location or a description; a surveillance frame makes them the target. Pure data, no I/O.
"""

from __future__ import annotations

import re

from services.gateway.policy.purpose_cues import phrases

# What makes a reason a lawful search: a crime, a victim, a person at risk, a threat to protect against.
CRIME = phrases(
    r"stolen|steal\w*|theft\w*|thie(?:f|ves)|burglar\w*|break ins?|broke into|broken into|robb\w*|carjack\w*",
    r"assault\w*|batter(?:y|ed|ing)|attack\w*|stab\w*|shoot\w*|shot|shots fired|gunfire|gunm[ae]n|guns?",
    r"firearms?|weapons?|knife|knives|knifepoint|gunpoint|armed|homicid\w*|murder\w*|kill\w*|manslaughter",
    r"dead|death|deceased|kidnap\w*|abduct\w*|hostages?|hit and run|hitandrun|collisions?|crash\w*|dui|dwi",
    r"drunk driv\w*|impaired driv\w*|evad\w*|pursuit|fled|flee\w*|arson\w*|firebomb\w*|set fire|bomb\w*",
    r"explosive\w*|vandal\w*|graffiti|damag\w*|threat\w*|menac\w*|harass\w*|stalk\w*|intimidat\w*",
    r"hate crimes?|extort\w*|fraud\w*|scam\w*|counterfeit\w*|embezzl\w*|forg(?:ery|ed)|narcotic\w*|drugs?",
    r"fentanyl|meth\w*|heroin|cocaine|trafficking|traffickers?|smuggl\w*|missing|runaway|endangered",
    r"amber alert|silver alert|abus\w*|rape\w*|sexual (?:assault|abuse|battery)|molest\w*|indecent exposure",
    r"exploit\w*|loot\w*|shoplift\w*|catalytic|injur\w*|wound\w*|fatal\w*|victims?|witness\w*",
    r"predators?|taken (?:from|during|in|by|at|without|while)|never returned|not returned|failed to return",
    r"211|245|459|10851|187|207|215|261|273 5|288|422|451|484|487|496|503|646 9|664|20001|23152|23153",
    r"left (?:the )?scene|dv|dvro|tro|epo|cpo|violated (?:the |a |an |his |her )?(?:ro|order)",
    r"drive ?offs?|drove off without paying|carried off|smash\w*|grab and run|snatch and grab",
    r"gunshots?|shots (?:were )?(?:fired|heard|rang out)|shooter|sniper|rifles?|pistols?|handguns?|ammunition|"
    r"bullets?|molotov|incendiary|machetes?",
    r"snatch\w*|knocked (?:down|over|out)|push\w* (?:down|over)|mugg\w*|pickpocket\w*|pepper ?spray\w*|mac[ea]d",
    r"tased|tasered|spat on|spit on|stole|took off with|made off with|chased by|(?:car|police|vehicle) chase|"
    r"joyrid\w*|chop shop|explosions?",
    r"peeping|voyeur\w*|indecent|solicit\w* (?:a )?minors?|child (?:predator|porn\w*)|grooming|luring|lured|csam",
    r"drunk|intoxicated|under the influence|overdos\w*|dead body|bodies",
    r"hit by (?:a|an|the) (?:car|vehicle|truck|driver|van|suv)|(?:did not|didnt|failed to) stop|r[au]n down|mowed",
    r"fired (?:\w+ )?(?:shots|rounds|a gun|a weapon|at|upon|on)|opened fire|firing at|"
    r"threw (?:\w+ ){0,2}(?:through|at)",
    r"thrown (?:through|at)|bricks?|rocks? through|windows? (?:smashed|broken|shattered)",
    r"hurt|accelerated into|drove into|plowed into|ploughed into|ran (?:\w+ ){0,2}over|grabbed|sideswip\w*|"
    r"rear ?ended|collided|hit (?:a|an|the|two|his|her) (?:parked )?"
    r"(?:car|cars|vehicle|pedestrian|cyclist|bicyclist|child|kid|man|woman|person|bus|pole|house|fence|officer)",
    r"set (?:\w+ ){0,3}on fire|on fire|torched|burned|burnt|beat|beats|kicked|slapped|strangled|dragged",
    r"keyed|keying|breaking (?:into|in)|punch\w*|beat(?:en|ing)|struck|ran over|run over|left the scene|"
    r"leaving the scene|slash\w*|chok\w*",
    r"strangl\w*|grop\w*|fights?|brawl\w*|exposed himself|exposing himself|lewd|violent\w*",
    r"lure\w*|parkinson\w*|confused|despondent|goodbye (?:texts?|notes?|messages?|letters?)|self harm|in crisis",
    r"(?:has not|hasnt|not) been (?:heard from|seen)|medical (?:condition|emergency)|off (?:his|her|"
    r"their) medication",
    r"diabet\w*|epilep\w*|seizures?|wander\w*|at risk|dementia|alzheimer\w*|autis\w*|nonverbal|suicid\w*|"
    r"disoriented|welfare check",
    r"ram(?:med|ming)|tamper\w*|breach\w*|intrusion|intruders?|forced entry|broke through|crashed through",
    r"gang\w*|brandish\w*|road rage|reckless|sideshow|prowl\w*|casing|suspicious|sabotage|terroris\w*",
    r"sex offender|parolee|probation violat\w*|restraining order|hate crimes?",
    r"protective order|violat\w* (?:a |the )?(?:court|protective|restraining|no contact) order|domestic violence",
    r"hijack\w*|trespass\w* (?:on|at) (?:the )?(?:substation|plant|refinery|airport|rail yard)|absconded|escaped",
)
# Legal process: lawful context for most categories, but not where the care or the status is itself the charge.
LEGAL_PROCESS = phrases(r"warrants?|arrest\w*|felon\w*|crimes?|criminal|offen[cs]es?|wanted for|charged with|indicted")
# A warrant or charge against the person: where speech or worship is the topic, "arrest" alone may be the topic too.
WARRANT = phrases(r"warrants?|wanted for|charged with|indicted|felony|probable cause")
# Words a lawful reason nearly always has; a reason with none of them states no law enforcement purpose.
LAWFUL_CONTEXT = phrases(
    r"susp|suspects?|suspected|wanted|investigat\w*|incidents?|evidence|bolo|lookout|alerts?|report\w*|complaint",
    r"911|calls? for service|detectives?|patrol|crime scene|infrastructure|airport|substation|refinery|pipeline",
    r"water (?:plant|treatment|district)|power (?:plant|station)|dams?|levees?|reservoirs?|control station|"
    r"utility|electrical grid|cell towers?|bridges?|rail (?:line|yard)|special events?|parade|festival|"
    r"concert|stadium|event",
    r"loiter\w*|(?:pump|lift|compressor|switching) stations?|treatment (?:plant|facility)|(?:electrical|power|"
    r"water|gas) (?:facility|infrastructure|station|lines?)",
    r"foster|court order|custody order|protective custody|cps|child protective|(?:did|has|have) not returned",
    r"didnt return|hasnt returned|minors?|juveniles?|endangered|at risk|child|children|schools?|students?",
    r"cameras?|video|footage|dashcam|doorbell|cctv|alpr|lpr|reader hits?|hits? from|match(?:ed|es|ing)|partial plate",
    r"getaway|circling|fled|fleeing|pirates?|packages?|fairgrounds|fair|carnival|rodeo|marathon|game|tournament",
    r"joint (?:case|investigation|operation)|illegal (?:dumping|gambling|guns?|firearms?|weapons?|drugs?|fireworks|"
    r"street racing|grow|dispensary|possession)|dumping|hazardous|task force|probable cause|hotlist|ncic|"
    r"leads?|tip|tips|sighting|occupants?|plate reader hit",
)
VICTIM = phrases(
    r"(?:her|his|their|the victims?) (?:car|vehicle|truck|van|purse|wallet|phone|home|house) (?:was|were) (?:\w+ )?"
    r"(?:stolen|taken|broken into|vandali[sz]ed|damaged|keyed|burglari[sz]ed|set on fire|shot at)",
    r"(?:raped|robbed|assaulted|attacked|beaten|shot|stabbed|threatened|kidnapped|trafficked|exploited|abused|"
    r"defrauded|scammed|extorted|struck|hit|injured|killed|murdered|harassed|stalked|run down|ran over) by",
    r"victims?|complainants?|reporting party|was (?:robbed|assaulted|beaten|shot|stabbed|attacked|carjacked|"
    r"threatened|scammed|defrauded|kidnapped|abducted|struck|hit|injured|killed)|were (?:robbed|assaulted|"
    r"beaten|shot|stabbed|attacked|threatened|scammed|defrauded|targeted)|preyed|targeting (?:immigrants|"
    r"migrants|undocumented)|(?:robbed|assaulted|attacked|beat|shot|stabbed|threatened|carjacked|struck|hit|"
    r"punched|kidnapped|abducted) (?:a|an|the|two|three|several|his|her|their)|robbery of|assault on|"
    r"attack on|murder of|theft from|stolen from",
    r"(?:steal\w*|stole|took|taking|scam\w*|defraud\w*|cheat\w*|extort\w*|swindl\w*) (?:\w+ ){0,3}from|prey\w* on",
)
PROTECTION = phrases(
    r"protect\w*|safety|security (?:plan|detail|for)|escort\w*|traffic control|crowd control|keep (?:\w+ )?safe",
    r"event (?:security|safety|permit)|permitted|road closures?",
)
SURVEILLANCE = phrases(
    r"trac(?:e|ed|es|ing)|(?:get|getting) a sense of|regular attendees|"
    r"monitor\w*|surveil\w*|watch\w*|keep (?:tabs|an eye|a list|track|a record|a log|records|notes)|track\w*",
    r"log\w*|record (?:every|all|each|the plates|plates|who|which)|catalog\w*|compil\w*|collect\w*|gather\w*",
    r"run (?:\w+ ){0,3}(?:car|plate|vehicle|tags?)|who (?:is it|owns)|whose|keep (?:the |all )?(?:plates|"
    r"reads|data)|scan (?:the )?(?:lot|crowd|area)",
    r"residence|resides|reside|residing|domicile|loc|lka|last known (?:address|location)|addr|address(?:es)?|"
    r"(?:who is|whos|who are) (?:the|this|that)",
    r"(?:make|build|create|keep|start|maintain|get|pull|run|generate|put together) (?:a |an |the )?"
    r"(?:list|roster|database|file|dossier|profile|record|inventory|census|map)",
    r"lists?|rosters?|map(?:ping)?|identify\w*|identif\w*|unmask\w*|expos\w*",
    r"who (?:attend\w*|went|goes|go|visit\w*|drove|drives|drive|came|comes|was|were|is|are|parks|parked|showed|"
    r"shows|participat\w*|joined|signed|organiz\w*|spoke|speaks|meets|met|worships|prays|travel\w*)",
    r"attend\w*|attendees?|participants?|members?|membership|visitors?|regulars?|frequent\w*",
    r"every (?:plate|car|vehicle|week|sunday|friday|saturday|meeting|service|one)|all (?:the )?(?:plates|cars|"
    r"vehicles|attendees|participants|members|visitors)|everyone|everybody",
    r"which (?:cars|vehicles|plates|people|reporters?|journalists?|members?|activists?|organizers?|of them)",
    r"(?:for|as) (?:future|later) (?:reference|use)|intel\w*|database|profil\w*|dossier|watch ?list",
    r"(?:find|figure|see|learn|check) out who|see who|whos who|where (?:he|she|they) (?:lives?|sleeps?|stays?"
    r"|parks?|works?|goes)|home address\w*|pattern of life|movements|comings and goings|whereabouts",
    r"(?:seen|parked|present|spotted|observed) (?:at|near|outside|in front of)|visit\w*|show(?:ed|s)? up",
    r"where (?:\w+ ){0,8}(?:goes|go|going|went|lives?|lived|living|stays?|staying|sleeps?|sleeping|parks?|parking|"
    r"works?|working|drives?|hangs out)",
    r"see if (?:\w+ ){0,4}(?:was|were|is|are|goes|went) (?:at|in|near|to)|plate (?:data|reads|hits|"
    r"history) (?:on|of|for)",
    r"(?:data|reads|hits|history|info\w*) on (?:the|every|all|their|his|her)|still (?:in town|around|living|lives)",
    r"(?:travel|location|plate|movement|driving|trip)s? (?:history|log|records|patterns?)",
    r"for (?:our|the|my|future|their) (?:files?|records?)|(?:run|pull|get|grab) (?:all )?(?:the )?plates",
    r"id (?:all|every|the|everyone|each|drivers|owners|people|attendees|participants|members|them)|(?:all|"
    r"every) (?:drivers|owners|people|persons|cars|trucks)",
    r"(?:cars?|vehicles?|plates?|trucks?|vans?) (?:at|near|outside|in front of|parked at|visiting|leaving|arriving)",
    r"plates? (?:of|for)|note (?:the|which|who|all|every|down)|photograph\w*|find|locate|whereabouts",
)
# An incident told as one: something happened (a verb in the past) to or by a person or a vehicle. A reason that
# tells an incident in words none of the lists above has is not sent back; one that tells none is.
EVENT_VERB = re.compile(
    r"\b(?!(?:asked|requested|needed|interested|concerned|related|based|supposed|bored|tired|parked|used|owned|"
    r"registered|listed|called|named|wanted)\b)\w{3,}ed\b|"
    r"\b(?:left|fled|took|drove|ran|hit|stole|threw|broke|shot|struck|fell|sped|tore|bit|fought|caught|cut|lost|"
    r"vanished|disappeared|overdue|missing)\b"
)
EVENT_SUBJECT = phrases(
    r"cars?|vehicles?|vans?|trucks?|pickups?|sedans?|suvs?|coupes?|hatchbacks?|motorcycles?|bikes?|boats?|trailers?",
    r"veh|vehs|susp|subj|ro|rvs?|motorhomes?|buses|bus|jeeps?|plates?|man|woman|men|women|person|people|"
    r"subject|driver|motorist|owner",
    r"family|he|she|they|boy|girl|child|teen|someone|hiker|patient|passerby|bystander|resident|employee|worker",
    r"customer|clerk|guard|contractor|neighbou?r|stranger",
)
# What a protest or a vigil is about ("a vigil for the man killed by police"): its subject is not a crime to solve.
PROTEST_TOPIC = re.compile(
    r"\b(?:vigils?|rall(?:y|ies)|march(?:es)?|protests?|demonstrations?|memorials?|walkouts?|strikes?|sit ins?|"
    r"gatherings?|meetings?|speech(?:es)?|spoke|speaking|signs?|petitions?|campaigns?) (?:for|against|about|over|"
    r"protesting|in memory of|honou?ring|mourning|remembering)"
    r"(?: (?!(?:was|were|is|are|and|but|when|then|after|as|got|had|has|where|while|until)\b)\w+){1,6}"
)
