"""Well-known human mature miRNAs (miRBase release 22 names) found in serum and exosome studies.

Used by the demo simulator when miRBase itself is not at hand; every name is checked against
miRBase 22 in the tests.
"""

from __future__ import annotations

_SHORT = """
let-7a-5p let-7b-5p let-7c-5p let-7d-5p let-7e-5p let-7f-5p let-7g-5p let-7i-5p let-7b-3p let-7d-3p
miR-1-3p miR-7-5p miR-9-5p miR-9-3p miR-10a-5p miR-10b-5p miR-15a-5p miR-15b-5p miR-16-5p miR-17-5p
miR-17-3p miR-18a-5p miR-18b-5p miR-19a-3p miR-19b-3p miR-20a-5p miR-20b-5p miR-21-5p miR-21-3p
miR-22-3p miR-22-5p miR-23a-3p miR-23b-3p miR-24-3p miR-25-3p miR-26a-5p miR-26b-5p miR-27a-3p
miR-27b-3p miR-28-3p miR-28-5p miR-29a-3p miR-29b-3p miR-29c-3p miR-30a-5p miR-30a-3p miR-30b-5p
miR-30c-5p miR-30d-5p miR-30e-5p miR-30e-3p miR-31-5p miR-32-5p miR-33a-5p miR-34a-5p miR-34c-5p
miR-92a-3p miR-92b-3p miR-93-5p miR-96-5p miR-98-5p miR-99a-5p miR-99b-5p miR-100-5p miR-101-3p
miR-103a-3p miR-106a-5p miR-106b-5p miR-106b-3p miR-107 miR-122-5p miR-122-3p miR-124-3p
miR-125a-5p miR-125b-5p miR-126-3p miR-126-5p miR-127-3p miR-128-3p miR-130a-3p miR-130b-3p
miR-132-3p miR-133a-3p miR-134-5p miR-135a-5p miR-136-3p miR-139-5p miR-140-3p miR-140-5p miR-141-3p
miR-142-3p miR-142-5p miR-143-3p miR-144-3p miR-144-5p miR-145-5p miR-146a-5p miR-146b-5p miR-148a-3p
miR-148b-3p miR-150-5p miR-151a-3p miR-151a-5p miR-152-3p miR-155-5p miR-181a-5p miR-181b-5p
miR-181c-5p miR-182-5p miR-183-5p miR-184 miR-185-5p miR-186-5p miR-188-5p miR-190a-5p miR-191-5p
miR-192-5p miR-193a-5p miR-193b-3p miR-194-5p miR-195-5p miR-196a-5p miR-197-3p miR-199a-3p
miR-199a-5p miR-199b-5p miR-200a-3p miR-200b-3p miR-200c-3p miR-203a-3p miR-204-5p miR-205-5p
miR-206 miR-210-3p miR-214-3p miR-215-5p miR-216a-5p miR-217-5p miR-218-5p miR-221-3p miR-222-3p
miR-223-3p miR-224-5p miR-125b-2-3p miR-301a-3p miR-320a-3p miR-320b miR-320c miR-320d miR-324-5p
miR-324-3p miR-326 miR-328-3p miR-330-3p miR-331-3p miR-335-5p miR-338-3p miR-339-5p miR-340-5p
miR-342-3p miR-345-5p miR-361-5p miR-362-5p miR-363-3p miR-365a-3p miR-370-3p miR-374a-5p miR-375-3p
miR-378a-3p miR-379-5p miR-382-5p miR-409-3p miR-411-5p miR-421 miR-423-3p miR-423-5p miR-425-5p
miR-429 miR-432-5p miR-433-3p miR-451a miR-454-3p miR-483-5p miR-484 miR-485-3p miR-486-5p
miR-486-3p miR-487b-3p miR-490-3p miR-491-5p miR-493-3p miR-494-3p miR-495-3p miR-497-5p miR-500a-3p
miR-501-3p miR-502-3p miR-503-5p miR-532-5p miR-532-3p miR-539-5p miR-542-3p miR-545-3p miR-548a-3p
miR-550a-5p miR-574-3p miR-584-5p miR-590-5p miR-598-3p miR-615-3p miR-625-5p miR-629-5p miR-652-3p
miR-660-5p miR-665 miR-671-5p miR-708-5p miR-744-5p miR-758-3p miR-874-3p miR-885-5p miR-939-5p
miR-1180-3p miR-1246 miR-1247-5p miR-1260a miR-1275 miR-1290 miR-1307-3p miR-1908-5p miR-3615
miR-4454 miR-4732-5p miR-92b-5p miR-193a-3p miR-10a-3p miR-33b-5p miR-135b-5p miR-138-5p
"""

#: Human mature miRNA names of miRBase release 22, in a fixed order.
WELL_KNOWN_MIRNAS: tuple[str, ...] = tuple(f"hsa-{short}" for short in _SHORT.split())
