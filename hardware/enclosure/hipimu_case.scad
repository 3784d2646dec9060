// hipimu sensor enclosure: XIAO ESP32S3 + BNO085 breakout + 400 mAh LiPo + FPC antenna.
// OpenSCAD, parametric. Render the printed parts separately:
//   openscad -D 'part="base"' -o base.stl hipimu_case.scad
//   openscad -D 'part="lid"'  -o lid.stl  hipimu_case.scad
// "assembly" shows everything in place; "collisions" is every pair of parts intersected
// (empty when the case assembles; tests/hardware/test_enclosure.py renders it, and each
// pair on its own, with `-D 'part="pair"' -D 'a="lipo"' -D 'b="base"'`); "sweep" with
// `-D 'a="lipo"'` is the base intersected with the path of a part lowered into it.
// Print in PETG, 0.2 mm layers, lid upside down. The arrow on the lid marks sensor +x,
// +z points out of the lid (hardware/placement.md). The BNO085 breakout is screwed to the
// lid (component side up, its printed x arrow along the lid arrow), so the sensor axes
// are the lid's by construction.
//
// Layout (x along the case, y across, z up; hardware/README.md has the assembly order):
//   floor: LiPo 502535 pouch, shifted to +x so it clears the two screw bosses at -x;
//   on it (1 mm foam tape): the XIAO at the -x wall (USB-C through the wall), the power
//   board (charge-while-off bypass, hardware/wiring.md) and the slide switch at +x;
//   under the lid: the BNO085 breakout on four 3.5 mm lid standoffs;
//   inside the +y wall: the 2.4 GHz FPC antenna (U.FL to the XIAO), above the cell
//   (away from the skin) and below the lid lip;
//   outside the +-y walls at the bottom: two strap loops. The webbing runs along y
//   (around the limb or the pelvis; x points superior), under the case and up through
//   both loops' slots.
// Clearance between parts is at least `gap`; parts that are clamped together (lid on the
// base, breakout on its standoffs) are modelled `touch` apart so the collision check
// does not count a shared face.

part = "assembly";  // "base", "lid", "assembly", "collisions", "pair", or a part name
a = "";
b = "";

// parts (mm): size x, y, z
lipo = [36, 26, 5.5];            // 502535 with its protection board, as sold (Adafruit 3898)
xiao = [21.0, 17.8, 3.5];        // board + shield can; USB-C at -x, flush with the board end
ufl = [3.2, 3.2, 2.5];           // U.FL receptacle + mated plug; position assumed: top, +x end
bno = [25.4, 17.8, 1.6];         // Adafruit 4754 board
bno_parts = 3.0;                 // component height above the board (STEMMA QT: 2.9)
bno_below = 0.5;                 // trimmed leads / wires below the board
bno_holes = [20.32, 12.7];       // mounting holes (2.5 mm), 0.1" in from each corner
antenna = [35, 10, 0.4];         // 2.4 GHz FPC antenna (largest that fits), adhesive back
switch_body = [3.6, 8.6, 3.5];   // C&K JS102011SAQN body (x = depth, y = length)
actuator = [2.0, 1.6, 1.6];
power_board = [10, 8, 2.5];      // perfboard: 2 SOT-23 MOSFETs + 2 resistors
foam = 1.0;                      // double-sided foam tape under the XIAO and power board
webbing = [38, 1.5];             // width, thickness

wall = 1.6;
floor_t = 1.4;
lid_t = 1.6;
gap = 0.2;                       // minimum clearance between parts
touch = 0.05;                    // stand-in for contact in the collision check
standoff_h = 3.5;                // BNO085 board top to lid underside
standoff_d = 4.2;
boss_d = 4.6;                    // lid screw bosses (ST2.2 thread-forming screws)
pilot_d = 1.7;
screw_d = 2.4;
head_d = 4.2;
lip_w = 1.2;
lip_h = 1.5;
lip_clear = 0.3;

cavity = [42, 28, 0];            // inner x, y (z follows from the stack)
lipo_z = floor_t + gap;
xiao_z = lipo_z + lipo[2] + foam;
bno_z = xiao_z + xiao[2] + ufl[2] + gap + bno_below + 0.2;   // board bottom
top_z = bno_z + bno[2] + standoff_h;                          // base rim = lid underside
outer = [cavity[0] + 2 * wall, cavity[1] + 2 * wall, top_z];
corner_r = 3;

// strap loops on the +-y sides: a bar along x, a slot for the webbing open in z
slot = 3.0;                      // slot width in y (webbing 1.5 thick)
bar = [webbing[0] + 2 * 1.0 + 2 * 2.0, 2.0, 5.0];  // length, thickness, height
arm = 2.0;

usb = [9.5, 4.2];                // USB-C opening (w in y, h in z)
usb_z = xiao_z + 0.4;
switch_cut = [7.0, 2.4];         // slot for the actuator's travel (y, z)
led_d = 3.2;
tab = [10, 0.6, 1.5];            // lid tab into the +x wall groove (y, depth, z)

// positions (in base coordinates)
c0 = [wall, wall, floor_t];      // cavity origin
lipo_pos = [c0[0] + cavity[0] - lipo[0] - 0.6, c0[1] + (cavity[1] - lipo[1]) / 2, lipo_z];
xiao_pos = [c0[0] + 0.3, c0[1] + (cavity[1] - xiao[1]) / 2, xiao_z];
ufl_pos = [xiao_pos[0] + xiao[0] - ufl[0] - 0.5, xiao_pos[1] + 1.0, xiao_z + xiao[2]];
bno_pos = [c0[0] + (cavity[0] - bno[0]) / 2 + 2, c0[1] + (cavity[1] - bno[1]) / 2, bno_z];
boss_xy = [[c0[0] + boss_d / 2 + 0.2, c0[1] + boss_d / 2 + 0.2],
           [c0[0] + boss_d / 2 + 0.2, c0[1] + cavity[1] - boss_d / 2 - 0.2]];
switch_pos = [c0[0] + cavity[0] - switch_body[0] - gap,
              c0[1] + (cavity[1] - switch_body[1]) / 2, lipo_z + lipo[2] + foam];
power_pos = [xiao_pos[0] + xiao[0] + 2, c0[1] + (cavity[1] - power_board[1]) / 2,
             lipo_z + lipo[2] + foam];
antenna_pos = [boss_xy[0][0] + boss_d / 2 + gap + 0.3, c0[1] + cavity[1] - antenna[2] - touch,
               top_z - lip_h - gap - antenna[1]];
bar_x = (outer[0] - bar[0]) / 2;

module rounded_box(size, r) {
    hull() for (x = [r, size[0] - r], y = [r, size[1] - r])
        translate([x, y, 0]) cylinder(r = r, h = size[2], $fn = 32);
}

module strap_loops() {
    for (side = [0, 1]) mirror([0, side, 0]) translate([0, side ? -outer[1] : 0, 0]) {
        // bar at y = -(slot + bar thickness) .. -slot, arms joining it to the wall
        translate([bar_x, -slot - bar[1], 0]) cube(bar);
        for (x = [bar_x, bar_x + bar[0] - arm])
            translate([x, -slot - 0.01, 0]) cube([arm, slot + corner_r, bar[2]]);  // into the wall
    }
}

module base() {
    difference() {
        union() {
            rounded_box(outer, corner_r);
            strap_loops();
        }
        translate(c0) cube([cavity[0], cavity[1], outer[2]]);
        // USB-C through the -x wall, centred on the XIAO's receptacle
        translate([-1, xiao_pos[1] + xiao[1] / 2 - usb[0] / 2, usb_z]) cube([wall + 2, usb[0], usb[1]]);
        // slide switch actuator through the +x wall
        translate([outer[0] - wall - 1, switch_pos[1] + switch_body[1] / 2 - switch_cut[0] / 2,
                   switch_pos[2] + (switch_body[2] - switch_cut[1]) / 2])
            cube([wall + 2, switch_cut[0], switch_cut[1]]);
        // groove in the +x wall for the lid's tab
        translate([c0[0] + cavity[0] - 0.01, outer[1] / 2 - (tab[0] + 2 * gap) / 2,
                   top_z - lip_h - 0.5 - gap])
            cube([tab[1] + gap, tab[0] + 2 * gap, tab[2] + 2 * gap]);
    }
    // two screw bosses in the -x corners, above the LiPo (their undersides bridge from
    // the two walls); the +x end is held by the lid's tab
    difference() {
        for (p = boss_xy) hull() {
            translate([p[0], p[1], lipo_z + lipo[2] + gap]) cylinder(d = boss_d, h = top_z - lipo_z - lipo[2] - gap, $fn = 24);
            // into the corner of the walls
            translate([c0[0] - 0.5, p[1] < outer[1] / 2 ? c0[1] - 0.5 : c0[1] + cavity[1], lipo_z + lipo[2] + gap])
                cube([0.5, 0.5, top_z - lipo_z - lipo[2] - gap]);
        }
        for (p = boss_xy) translate([p[0], p[1], top_z - 7]) cylinder(d = pilot_d, h = 8, $fn = 16);
    }
}

module arrow() {
    // +x arrow, engraved 0.5 mm into the lid
    linear_extrude(1) union() {
        translate([-8, -1.2]) square([12, 2.4]);
        polygon([[4, -4], [10, 0], [4, 4]]);
    }
}

module lid() {
    // modelled in place: its underside at z = top_z
    translate([0, 0, top_z + touch]) difference() {
        union() {
            rounded_box([outer[0], outer[1], lid_t], corner_r);
            // lip frame that locates the lid inside the walls
            translate([0, 0, -lip_h]) difference() {
                translate([c0[0] + lip_clear, c0[1] + lip_clear, 0])
                    cube([cavity[0] - 2 * lip_clear, cavity[1] - 2 * lip_clear, lip_h]);
                translate([c0[0] + lip_clear + lip_w, c0[1] + lip_clear + lip_w, -1])
                    cube([cavity[0] - 2 * (lip_clear + lip_w), cavity[1] - 2 * (lip_clear + lip_w), lip_h + 2]);
            }
            // tab into the +x wall's groove
            translate([c0[0] + cavity[0] - lip_clear - lip_w, outer[1] / 2 - tab[0] / 2, -lip_h - 0.5])
                cube([lip_w + lip_clear + tab[1], tab[0], tab[2]]);
            // standoffs for the BNO085 breakout
            for (dx = [-1, 1], dy = [-1, 1])
                translate([bno_pos[0] + bno[0] / 2 + dx * bno_holes[0] / 2,
                           bno_pos[1] + bno[1] / 2 + dy * bno_holes[1] / 2, -standoff_h + touch])
                    cylinder(d = standoff_d, h = standoff_h, $fn = 20);
        }
        // screws into the bosses, heads countersunk in the lid
        for (p = boss_xy) {
            translate([p[0], p[1], -lip_h - 1]) cylinder(d = screw_d, h = 10, $fn = 16);
            translate([p[0], p[1], lid_t - 0.8]) cylinder(d = head_d, h = 2, $fn = 24);
            // the lip clears the bosses: a square notch in each -x corner
            translate([c0[0] - 0.01, p[1] < outer[1] / 2 ? c0[1] - 0.01 : p[1] - boss_d / 2 - lip_clear, -lip_h - 1])
                cube([p[0] - c0[0] + boss_d / 2 + lip_clear, p[1] - c0[1] + boss_d / 2 + lip_clear, lip_h + 1]);
        }
        // pilot holes for the breakout's screws (ST2.2 x 4.5 thread-forming)
        for (dx = [-1, 1], dy = [-1, 1])
            translate([bno_pos[0] + bno[0] / 2 + dx * bno_holes[0] / 2,
                       bno_pos[1] + bno[1] / 2 + dy * bno_holes[1] / 2, -standoff_h - 1])
                cylinder(d = pilot_d, h = standoff_h + 1 + lid_t - 0.6, $fn = 12);
        // LED window above the XIAO's user LED (near the USB end)
        translate([xiao_pos[0] + 4, xiao_pos[1] + xiao[1] / 2 + 4, -2]) cylinder(d = led_d, h = 10, $fn = 20);
        // engraved +x arrow and "z" dot (+z out of the lid, at the arrow's tail)
        translate([outer[0] / 2 + 2, outer[1] / 2, lid_t - 0.5]) arrow();
        translate([outer[0] / 2 - 10, outer[1] / 2, lid_t - 0.5]) cylinder(d = 2.5, h = 1, $fn = 16);
    }
}

// -- the parts that go inside (for the assembly view and the collision check) ----------
module lipo_part() { translate(lipo_pos) cube(lipo); }

module xiao_part() {
    translate(xiao_pos) cube(xiao);
    translate(ufl_pos) cube(ufl);
}

module bno_part() {
    // board, trimmed leads below it, components above it (clear of the corner holes)
    translate([bno_pos[0], bno_pos[1], bno_pos[2] - bno_below]) difference() {
        union() {
            translate([0, 0, bno_below]) cube(bno);
            translate([0.5, 0.5, 0]) cube([bno[0] - 1, bno[1] - 1, bno_below]);
            translate([0, 5, bno_below + bno[2]]) cube([bno[0], bno[1] - 10, bno_parts]);
            translate([5, 0, bno_below + bno[2]]) cube([bno[0] - 10, bno[1], bno_parts]);
        }
        for (dx = [-1, 1], dy = [-1, 1])
            translate([bno[0] / 2 + dx * bno_holes[0] / 2, bno[1] / 2 + dy * bno_holes[1] / 2, -1])
                cylinder(d = 2.5, h = 10, $fn = 16);
    }
}

module switch_part() {
    translate(switch_pos) cube(switch_body);
    translate([switch_pos[0] + switch_body[0], switch_pos[1] + switch_body[1] / 2 - actuator[1] / 2,
               switch_pos[2] + (switch_body[2] - actuator[2]) / 2]) cube(actuator);
}

module power_part() { translate(power_pos) cube(power_board); }

module antenna_part() { translate(antenna_pos) cube([antenna[0], antenna[2], antenna[1]]); }

module webbing_part() {
    // under the case, up through both slots and over the bars, running along y
    x0 = (outer[0] - webbing[0]) / 2;
    ys = [-slot / 2 - webbing[1] / 2, outer[1] + slot / 2 - webbing[1] / 2];
    translate([x0, ys[0], -webbing[1] - touch]) cube([webbing[0], ys[1] - ys[0] + webbing[1], webbing[1]]);
    for (y = ys) translate([x0, y, -webbing[1] - touch]) cube([webbing[0], webbing[1], bar[2] + webbing[1] + 2]);
    translate([x0, ys[0] - 15, bar[2] + 1]) cube([webbing[0], 15 + webbing[1], webbing[1]]);
    translate([x0, ys[1], bar[2] + 1]) cube([webbing[0], 15, webbing[1]]);
}

PARTS = ["base", "lid", "lipo", "xiao", "bno", "switch", "power", "antenna", "webbing"];

module part_named(name) {
    if (name == "base") base();
    else if (name == "lid") lid();
    else if (name == "lipo") lipo_part();
    else if (name == "xiao") xiao_part();
    else if (name == "bno") bno_part();
    else if (name == "switch") switch_part();
    else if (name == "power") power_part();
    else if (name == "antenna") antenna_part();
    else if (name == "webbing") webbing_part();
    else assert(false, str("unknown part ", name));
}

if (part == "base") base();
else if (part == "lid") translate([0, 0, top_z + touch + lid_t]) mirror([0, 0, 1]) lid();  // top down
else if (part == "pair") intersection() { part_named(a); part_named(b); }
else if (part == "sweep")  // part a lowered into the open base from above: must be empty
    intersection() { base(); hull() { part_named(a); translate([0, 0, 40]) part_named(a); } }
else if (part == "collisions") {
    for (i = [0 : len(PARTS) - 2], j = [i + 1 : len(PARTS) - 1])
        intersection() { part_named(PARTS[i]); part_named(PARTS[j]); }
}
else if (part == "assembly") {
    base();
    color("SteelBlue", 0.5) lid();
    color("DimGray") lipo_part();
    color("Green") xiao_part();
    color("Purple") bno_part();
    color("Orange") antenna_part();
    color("Black") switch_part();
    color("Olive") power_part();
    color("Khaki", 0.5) webbing_part();
}
else part_named(part);

echo(str("outer size (mm): ", outer[0], " x ", outer[1], " x ", outer[2] + lid_t,
         "; with strap loops ", outer[0], " x ", outer[1] + 2 * (slot + bar[1])));
echo(str("PARTS=", PARTS));
