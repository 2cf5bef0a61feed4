module bench.example/cold108

go 1.21
