module bench.example/cold269

go 1.21
