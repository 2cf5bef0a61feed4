module bench.example/cold168

go 1.21
