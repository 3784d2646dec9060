// hipimu sensor enclosure: XIAO ESP32S3 + BNO085 breakout + 400 mAh LiPo, strap slots.
// OpenSCAD, parametric. Render the parts separately:
//   openscad -D 'part="base"' -o base.stl hipimu_case.scad
//   openscad -D 'part="lid"'  -o lid.stl  hipimu_case.scad
// Print in PETG, 0.2 mm layers, lid upside down. The arrow on the lid marks sensor +x,
// +z points out of the lid (hardware/placement.md). Fit the BNO085 breakout with its
// printed x arrow along the case arrow.

part = "assembly";  // "base", "lid" or "assembly"

// stack (mm), bottom to top: LiPo, XIAO ESP32S3, BNO085 breakout on 4 mm standoffs
lipo = [36, 26, 5.5];
xiao = [21.0, 17.8, 3.5];       // board + components, USB-C at -x end
bno = [25.4, 17.8, 4.0];         // Adafruit 4754
wall = 1.6;
floor_t = 1.4;
lid_t = 1.6;
clear = 0.4;
inner = [max(lipo[0], xiao[0], bno[0]) + 2 * clear + 2,
         max(lipo[1], xiao[1], bno[1]) + 2 * clear,
         lipo[2] + 1.0 + xiao[2] + 4.0 + bno[2] - 1.0];
outer = [inner[0] + 2 * wall, inner[1] + 2 * wall, inner[2] + floor_t];
corner_r = 3;
strap_w = 40;                    // 38 mm webbing + clearance
strap_h = 3;                     // slot height
loop_len = 6;                    // length of the strap loops beyond the box
insert_d = 3.2;                  // M2 heat-set insert hole
screw_d = 2.3;
post_d = 6;
usb = [9.5, 4.0];                // USB-C opening (w, h)
usb_z = floor_t + lipo[2] + 1.0 + 0.5;
led_d = 3.2;
switch_cut = [7, 3.2];

module rounded_box(size, r) {
    hull() for (x = [r, size[0] - r], y = [r, size[1] - r])
        translate([x, y, 0]) cylinder(r = r, h = size[2], $fn = 32);
}

module post_positions() {
    for (x = [wall + post_d / 2, outer[0] - wall - post_d / 2],
         y = [wall + post_d / 2, outer[1] - wall - post_d / 2])
        translate([x, y, 0]) children();
}

module strap_loops() {
    // two closed loops on the short ends: the webbing runs across the back of the case
    for (side = [0, 1]) {
        x0 = side == 0 ? -loop_len : outer[0];
        translate([x0, (outer[1] - strap_w) / 2 - 2, 0])
            difference() {
                cube([loop_len, strap_w + 4, strap_h + 2 * 1.6]);
                translate([side == 0 ? 1.6 : 0, 2, 1.6])
                    cube([loop_len - 1.6, strap_w, strap_h]);
            }
    }
}

module base() {
    difference() {
        rounded_box(outer, corner_r);
        translate([wall, wall, floor_t]) cube([inner[0], inner[1], inner[2] + 1]);
        // USB-C at the -x end, centred on the XIAO
        translate([-1, outer[1] / 2 - usb[0] / 2, usb_z]) cube([wall + 2, usb[0], usb[1]]);
        // slide switch on the +y side
        translate([outer[0] / 2 - switch_cut[0] / 2, outer[1] - wall - 1, floor_t + 2])
            cube([switch_cut[0], wall + 2, switch_cut[1]]);
    }
    // corner posts with heat-set inserts
    difference() {
        post_positions() cylinder(d = post_d, h = outer[2] - 0.01, $fn = 24);
        post_positions() translate([0, 0, outer[2] - 5]) cylinder(d = insert_d, h = 6, $fn = 16);
    }
    // standoffs carrying the BNO085 breakout (2.5 mm holes at 20.3 x 12.7 mm)
    for (dx = [-10.16, 10.16], dy = [-6.35, 6.35])
        translate([outer[0] / 2 + dx, outer[1] / 2 + dy, floor_t])
            cylinder(d = 2.0, h = inner[2] - bno[2], $fn = 12);
    strap_loops();
}

module arrow() {
    // +x arrow, embossed 0.6 mm
    linear_extrude(0.6) union() {
        translate([-8, -1.2]) square([12, 2.4]);
        polygon([[4, -4], [10, 0], [4, 4]]);
    }
}

module lid() {
    difference() {
        union() {
            rounded_box([outer[0], outer[1], lid_t], corner_r);
            // lip that locates the lid inside the walls
            translate([wall + clear, wall + clear, -1.2])
                cube([inner[0] - 2 * clear, inner[1] - 2 * clear, 1.2]);
        }
        post_positions() translate([0, 0, -2]) cylinder(d = screw_d, h = 10, $fn = 16);
        post_positions() translate([0, 0, lid_t - 1.2]) cylinder(d = 4.2, h = 2, $fn = 24);
        // LED window above the XIAO's user LED (near the USB end)
        translate([wall + 6, outer[1] / 2 + 4, -2]) cylinder(d = led_d, h = 10, $fn = 20);
        // the lip must clear the posts
        post_positions() translate([0, 0, -1.3]) cylinder(d = post_d + 0.6, h = 1.3, $fn = 24);
    }
    translate([outer[0] / 2 + 2, outer[1] / 2, lid_t]) arrow();
    // "z" dot: +z out of the lid, at the arrow's tail
    translate([outer[0] / 2 - 10, outer[1] / 2, lid_t]) cylinder(d = 2.5, h = 0.6, $fn = 16);
}

if (part == "base") base();
else if (part == "lid") lid();
else {
    base();
    translate([0, 0, outer[2] + 0.01]) color("SteelBlue", 0.6) lid();
}

echo(str("outer size (mm): ", outer[0], " x ", outer[1], " x ", outer[2] + lid_t));
