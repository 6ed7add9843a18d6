<?php
// The tiny PHP row of scripts/bench-e2e.mjs: one short line, no session, no includes.
header('Content-Type: text/plain');
echo "Hello from PHP\n";
