module bench.example/cold30

go 1.21
