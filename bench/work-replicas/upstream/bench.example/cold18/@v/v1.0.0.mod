module bench.example/cold18

go 1.21
