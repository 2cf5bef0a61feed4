module bench.example/cold189

go 1.21
